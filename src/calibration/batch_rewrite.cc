#include "calibration/batch_rewrite.h"

#include <set>
#include <string>

namespace onnxq {
namespace {

constexpr const char* kBatchParam = "onnxq_batch";

std::set<std::string> InitializerNames(const onnx::GraphProto& graph) {
  std::set<std::string> names;
  for (const auto& init : graph.initializer()) names.insert(init.name());
  return names;
}

}  // namespace

bool HasFixedBatchOfOne(const onnx::ModelProto& model) {
  const auto initializers = InitializerNames(model.graph());
  bool any = false;
  for (const auto& input : model.graph().input()) {
    if (initializers.contains(input.name())) continue;
    const auto& shape = input.type().tensor_type().shape();
    if (shape.dim_size() == 0 || !shape.dim(0).has_dim_value() || shape.dim(0).dim_value() != 1) return false;
    any = true;
  }
  return any;
}

onnx::ModelProto WithSymbolicBatch(const onnx::ModelProto& model) {
  onnx::ModelProto out = model;
  auto* graph = out.mutable_graph();
  const auto initializers = InitializerNames(*graph);
  auto make_symbolic = [](onnx::ValueInfoProto* vi) {
    auto* shape = vi->mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() > 0) shape->mutable_dim(0)->set_dim_param(kBatchParam);
  };
  for (auto& input : *graph->mutable_input()) {
    if (!initializers.contains(input.name())) make_symbolic(&input);
  }
  for (auto& output : *graph->mutable_output()) {
    if (output.type().tensor_type().has_shape()) output.mutable_type()->mutable_tensor_type()->clear_shape();
  }
  graph->clear_value_info();
  return out;
}

}  // namespace onnxq
