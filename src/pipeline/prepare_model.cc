#include "pipeline/prepare_model.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/version_converter/convert.h>

#include <algorithm>
#include <set>

#include "ir/graph_view.h"
#include "ir/infer_shapes.h"
#include "passes/pass_registry.h"
#include "pipeline/check_model.h"

namespace onnxq {
namespace {

// ONNX Runtime loads models from opset 7 on.
constexpr int64_t kOldestOpset = 7;
// QuantizeLinear / DequantizeLinear start at opset 10. Below it com.microsoft Q/DQ do not help: ONNX
// Runtime's QDQ fusion (optimization level extended and up, the default) turns DQ -> Conv / MatMul -> Q
// into default-domain QLinearConv / QLinearMatMul, which start at opset 10 too, and the session fails
// to load ("No Op registered for QLinearConv with domain_version of 9"; ONNX Runtime 1.30).
constexpr int64_t kQdqOpset = 10;
// The passes that settle element types; shape inference runs after them.
constexpr const char* kLastTypePass = "convert_float16_to_float";

void CollectReads(const onnx::GraphProto& graph, std::set<std::string>& reads) {
  for (const auto& node : graph.node()) {
    reads.insert(node.input().begin(), node.input().end());
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) CollectReads(attr.g(), reads);
      for (const auto& g : attr.graphs()) CollectReads(g, reads);
    }
  }
  for (const auto& out : graph.output()) reads.insert(out.name());
}

// What raising a model's opset import to kQdqOpset without converting it needs: the nodes to touch up,
// or the nodes whose op changed meaning in between.
struct Relabel {
  std::vector<onnx::NodeProto*> drop_spatial;  // BatchNormalization: spatial = 1 is the only behaviour from 9
  std::vector<onnx::NodeProto*> drop_mask;     // Dropout: an unread mask output (float before 10, bool from 10)
  std::vector<std::string> blockers;
};

// Ops whose schema changed between opset 7 and 10 only by admitting more types, broadcasting or
// optional attributes and outputs with the old behaviour as default (ONNX's version converter uses
// its CompatibleAdapter for them). Slice, TopK (attributes became inputs), Upsample (deprecated at 10)
// and Scan (batch axis dropped at 9) are not.
bool CompatibleUpTo10(const std::string& op) {
  static const std::set<std::string> kOps = {"AveragePool", "Cast", "Constant", "Flatten", "Gemm", "Greater", "Less",
                                             "MatMul",      "Max",  "MaxPool",  "Mean",    "Min",  "PRelu",   "Sum"};
  return kOps.contains(op);
}

void PlanRelabel(onnx::GraphProto& graph, int64_t opset, const std::set<std::string>& reads, Relabel& plan) {
  for (int i = 0; i < graph.node_size(); ++i) {
    onnx::NodeProto& node = *graph.mutable_node(i);
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) PlanRelabel(*attr.mutable_g(), opset, reads, plan);
      for (auto& g : *attr.mutable_graphs()) PlanRelabel(g, opset, reads, plan);
    }
    if (!node.domain().empty() && node.domain() != "ai.onnx") continue;
    const auto* before = onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(opset), "");
    const auto* after = onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(kQdqOpset), "");
    if (before != nullptr && after != nullptr && !after->Deprecated() &&
        before->SinceVersion() == after->SinceVersion()) {
      continue;
    }
    if (before != nullptr && after != nullptr && !after->Deprecated()) {
      if (CompatibleUpTo10(node.op_type())) continue;
      if (node.op_type() == "BatchNormalization" && AttrInt(node, "spatial", 1) == 1) {
        if (FindAttr(node, "spatial") != nullptr) plan.drop_spatial.push_back(&node);
        continue;
      }
      if (node.op_type() == "Dropout" && (node.output_size() < 2 || !reads.contains(node.output(1)))) {
        if (node.output_size() >= 2) plan.drop_mask.push_back(&node);
        continue;
      }
    }
    plan.blockers.push_back(Describe(node, i));
  }
}

void SetDefaultOpset(onnx::ModelProto& model, int64_t version) {
  for (auto& opset : *model.mutable_opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") opset.set_version(version);
  }
}

// Raises a model at opset 7-9 to kQdqOpset: by relabelling its opset import when no node changes meaning
// in between (checked against ONNX's schemas), else with ONNX's version converter, whose adapters up to
// 10 are mechanical (Upsample -> Resize, Slice and TopK attributes -> inputs). Returns the note to report.
Result<std::string> RaiseToQdqOpset(onnx::ModelProto& model, int64_t opset) {
  const std::string from = "opset " + std::to_string(opset) + " raised to " + std::to_string(kQdqOpset);
  const std::string why =
      " (QuantizeLinear/DequantizeLinear, and the QLinear ops ONNX Runtime fuses them into, "
      "start at opset 10)";
  std::set<std::string> reads;
  CollectReads(model.graph(), reads);
  Relabel plan;
  PlanRelabel(*model.mutable_graph(), opset, reads, plan);
  if (plan.blockers.empty()) {
    for (onnx::NodeProto* node : plan.drop_spatial) {
      auto* attrs = node->mutable_attribute();
      for (int a = attrs->size() - 1; a >= 0; --a) {
        if (attrs->Get(a).name() == "spatial") attrs->DeleteSubrange(a, 1);
      }
    }
    for (onnx::NodeProto* node : plan.drop_mask) node->mutable_output()->RemoveLast();
    SetDefaultOpset(model, kQdqOpset);
    return from + " without conversion: no op in the model changes meaning between them" + why;
  }
  std::string ops;
  for (size_t i = 0; i < plan.blockers.size() && i < 5; ++i) ops += (i > 0 ? ", " : "") + plan.blockers[i];
  if (plan.blockers.size() > 5) ops += " and " + std::to_string(plan.blockers.size() - 5) + " more";
  // The converter assumes a model the checker accepts: its adapters read attributes as the op's schema
  // types them, and crash on one of another type.
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return InvalidModel("the model uses opset " + std::to_string(opset) + " and fails the ONNX checker, which " +
                        "its conversion to opset " + std::to_string(kQdqOpset) + " needs: " + e.what());
  }
  try {
    onnx::ModelProto converted = onnx::version_conversion::ConvertVersion(model, static_cast<int>(kQdqOpset));
    onnx::checker::check_model(converted);
    model = std::move(converted);
  } catch (const std::exception& e) {
    return Unsupported("the model uses opset " + std::to_string(opset) + "; quantization needs opset " +
                       std::to_string(kQdqOpset) + why + ", and " + ops +
                       " changed meaning at opset 8-10, where ONNX's version converter failed (" + e.what() +
                       "): re-export the model with opset 13 or newer");
  }
  return from + " by ONNX's version converter, for " + ops + why;
}

}  // namespace

std::vector<std::string> PreparePassIds(const PassOptions& options) {
  std::vector<std::string> ids = {
      "sort_topologically", "rename_duplicate_nodes", "constants_to_initializers", "fold_weight_casts",
      kLastTypePass,        "eliminate_identity",     "fold_shape_computations",   "unshare_biases",
      "crop_padding_taps"};
  if (options.convert_nchw_to_nhwc) ids.insert(ids.begin() + 1, "convert_nchw_to_nhwc");
  if (options.fold_batch_norm) ids.emplace_back("fold_batch_norm");
  if (options.convert_bn_to_conv) ids.emplace_back("convert_bn_to_conv");
  if (options.convert_reduce_mean_to_gap) ids.emplace_back("convert_reduce_mean_to_gap");
  if (options.split_large_kernel_pool) ids.emplace_back("split_large_kernel_pool");
  if (options.convert_split_to_slice) ids.emplace_back("convert_split_to_slice");
  if (options.replace_clip6_relu) ids.emplace_back("replace_clip6_with_relu");
  if (options.include_cle) ids.emplace_back("equalize_cross_layer");
  if (options.high_bias_absorption) ids.emplace_back("absorb_high_bias");
  if (options.simulate_dpu) ids.emplace_back("simulate_dpu");
  return ids;
}

Result<PrepareReport> PrepareModel(onnx::ModelProto& model, const PrepareOptions& options) {
  PrepareReport report;
  report.opset_before = DefaultOpset(model);
  report.opset_after = report.opset_before;
  if (report.opset_before == 0) {
    return InvalidModel("the model does not import the default ONNX domain (no opset_import for \"\")");
  }
  if (report.opset_before < kOldestOpset) {
    return Unsupported("the model uses opset " + std::to_string(report.opset_before) +
                       ", older than ONNX Runtime runs (" + std::to_string(kOldestOpset) +
                       " and newer): re-export it with a newer opset (13 or newer " +
                       "for standard per-channel Q/DQ), e.g. torch.onnx.export(..., opset_version=13)");
  }
  // Before anything runs ONNX shape inference or the version converter.
  ONNXQ_RETURN_IF_ERROR(CheckInferenceAttributes(model.graph()));
  ONNXQ_RETURN_IF_ERROR(CheckGraphOutputs(model.graph()));
  if (model.ir_version() < 4) {
    report.notes.push_back("IR version " + std::to_string(model.ir_version()) +
                           " raised to 4, so that new initializers need not be graph inputs");
    model.set_ir_version(4);
  }
  if (report.opset_before < kQdqOpset) {
    ONNXQ_ASSIGN_OR_RETURN(std::string raised, RaiseToQdqOpset(model, report.opset_before));
    report.notes.push_back(std::move(raised));
    report.opset_after = DefaultOpset(model);
  }
  if (report.opset_after < options.min_opset) {
    report.qdq_domain = QdqDomain::kMicrosoft;
    report.notes.push_back("opset " + std::to_string(report.opset_after) + " has no " +
                           (options.min_opset >= 13 ? "per-channel " : "") + "QuantizeLinear/DequantizeLinear (opset " +
                           std::to_string(options.min_opset) +
                           "): they are written in ONNX Runtime's com.microsoft domain, which other runtimes may "
                           "not read; re-export with opset " +
                           std::to_string(options.min_opset) + " or newer for standard ONNX Q/DQ");
  }

  const std::vector<std::string> ids = PreparePassIds(options.passes);
  const auto split = std::find(ids.begin(), ids.end(), kLastTypePass) + 1;
  PassContext context;
  auto note = [&report](const std::vector<PassRun>& runs) {
    for (const auto& run : runs) {
      for (const auto& line : run.report.notes) report.notes.push_back(run.id + ": " + line);
    }
  };
  // Shape inference failing leaves tensors untyped: the quantizer tries them and calibration finds out.
  auto infer = [&report, &model] {
    if (Status s = InferShapes(model); !s.ok()) {
      report.notes.push_back(s.message() + " (going on without inferred shapes)");
    }
  };
  ONNXQ_ASSIGN_OR_RETURN(const auto first,
                         RunPasses(std::vector<std::string>(ids.begin(), split), model, options.passes, context));
  note(first);
  infer();
  report.float16_interface = ExposeFloatInterface(model);
  if (!report.float16_interface.empty()) {
    report.notes.push_back("float16 graph inputs and outputs are calibrated as float32 and cast back (" +
                           std::to_string(report.float16_interface.inputs.size()) + " inputs, " +
                           std::to_string(report.float16_interface.outputs.size()) + " outputs)");
  }
  ONNXQ_ASSIGN_OR_RETURN(const auto rest,
                         RunPasses(std::vector<std::string>(split, ids.end()), model, options.passes, context));
  note(rest);
  // Passes drop the value_info of tensors they rename; inference types the new ones.
  infer();
  return report;
}

}  // namespace onnxq
