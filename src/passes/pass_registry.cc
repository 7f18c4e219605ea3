#include "passes/pass_registry.h"

#include <functional>
#include <map>

#include "passes/absorb_high_bias.h"
#include "passes/constants_to_initializers.h"
#include "passes/convert_bn_to_conv.h"
#include "passes/convert_float16_to_float.h"
#include "passes/convert_nchw_to_nhwc.h"
#include "passes/convert_reduce_mean_to_gap.h"
#include "passes/convert_split_to_slice.h"
#include "passes/crop_padding_taps.h"
#include "passes/eliminate_identity.h"
#include "passes/equalize_cross_layer.h"
#include "passes/fold_batch_norm.h"
#include "passes/fold_shape_computations.h"
#include "passes/fold_weight_casts.h"
#include "passes/rename_duplicate_nodes.h"
#include "passes/replace_clip6_with_relu.h"
#include "passes/simulate_dpu.h"
#include "passes/sort_topologically.h"
#include "passes/split_large_kernel_pool.h"
#include "passes/unshare_biases.h"

namespace onnxq {
namespace {

using Factory = std::function<std::unique_ptr<GraphPass>(const PassOptions&)>;

template <typename Pass>
Factory Plain() {
  return [](const PassOptions&) { return std::make_unique<Pass>(); };
}

const std::map<std::string, Factory>& Factories() {
  static const std::map<std::string, Factory> factories = {
      {"sort_topologically", Plain<SortTopologicallyPass>()},
      {"convert_nchw_to_nhwc", Plain<ConvertNchwToNhwcPass>()},
      {"rename_duplicate_nodes", Plain<RenameDuplicateNodesPass>()},
      {"constants_to_initializers", Plain<ConstantsToInitializersPass>()},
      {"fold_weight_casts", Plain<FoldWeightCastsPass>()},
      {"convert_float16_to_float", Plain<ConvertFloat16ToFloatPass>()},
      {"eliminate_identity", Plain<EliminateIdentityPass>()},
      {"fold_shape_computations", Plain<FoldShapeComputationsPass>()},
      {"unshare_biases", Plain<UnshareBiasesPass>()},
      {"crop_padding_taps", Plain<CropPaddingTapsPass>()},
      {"fold_batch_norm", Plain<FoldBatchNormPass>()},
      {"convert_bn_to_conv", Plain<ConvertBnToConvPass>()},
      {"convert_reduce_mean_to_gap", Plain<ConvertReduceMeanToGapPass>()},
      {"split_large_kernel_pool", Plain<SplitLargeKernelPoolPass>()},
      {"convert_split_to_slice", Plain<ConvertSplitToSlicePass>()},
      {"replace_clip6_with_relu", Plain<ReplaceClip6WithReluPass>()},
      {"equalize_cross_layer",
       [](const PassOptions& options) { return std::make_unique<EqualizeCrossLayerPass>(options.cle); }},
      {"absorb_high_bias", Plain<AbsorbHighBiasPass>()},
      {"simulate_dpu", [](const PassOptions& options) { return std::make_unique<SimulateDpuPass>(options.dpu); }},
  };
  return factories;
}

}  // namespace

std::vector<std::string> PassIds() {
  std::vector<std::string> ids;
  for (const auto& [id, factory] : Factories()) ids.push_back(id);
  return ids;
}

Result<std::unique_ptr<GraphPass>> CreatePass(const std::string& id, const PassOptions& options) {
  const auto& factories = Factories();
  const auto it = factories.find(id);
  if (it == factories.end()) {
    std::string known;
    for (const auto& name : PassIds()) known += (known.empty() ? "" : ", ") + name;
    return NotFound("unknown pass '" + id + "'; known passes: " + known);
  }
  return it->second(options);
}

Result<std::vector<PassRun>> RunPasses(const std::vector<std::string>& ids, onnx::ModelProto& model,
                                       const PassOptions& options, PassContext& context) {
  std::vector<PassRun> runs;
  for (const auto& id : ids) {
    ONNXQ_ASSIGN_OR_RETURN(auto pass, CreatePass(id, options));
    auto report = pass->Run(model, context);
    if (!report.ok()) return Status(report.status().code(), "pass " + id + ": " + report.status().message());
    runs.push_back({id, std::move(report).value()});
  }
  return runs;
}

Result<std::vector<PassRun>> RunPasses(const std::vector<std::string>& ids, onnx::ModelProto& model) {
  PassContext context;
  return RunPasses(ids, model, {}, context);
}

}  // namespace onnxq
