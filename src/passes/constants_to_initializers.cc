#include "passes/constants_to_initializers.h"

#include "ir/tensor_util.h"

namespace onnxq {

Result<PassReport> ConstantsToInitializersPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  auto* graph = model.mutable_graph();
  PassReport report;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (auto& node : *graph->mutable_node()) {
    if (node.op_type() != "Constant" || !(node.domain().empty() || node.domain() == "ai.onnx") ||
        node.output_size() != 1 || node.attribute_size() != 1) {
      *kept.Add() = std::move(node);
      continue;
    }
    const auto& attr = node.attribute(0);
    onnx::TensorProto tensor;
    if (attr.name() == "value") {
      tensor = attr.t();
    } else if (attr.name() == "value_float") {
      tensor = MakeScalarFloat("", attr.f());
    } else if (attr.name() == "value_floats") {
      const std::vector<float> v(attr.floats().begin(), attr.floats().end());
      const int64_t n = static_cast<int64_t>(v.size());
      tensor = MakeFloatTensor("", std::span<const int64_t>(&n, 1), v);
    } else if (attr.name() == "value_int") {
      const int64_t v = attr.i();
      tensor = MakeIntTensor("", onnx::TensorProto::INT64, {}, std::span<const int64_t>(&v, 1));
    } else if (attr.name() == "value_ints") {
      const std::vector<int64_t> v(attr.ints().begin(), attr.ints().end());
      const int64_t n = static_cast<int64_t>(v.size());
      tensor = MakeIntTensor("", onnx::TensorProto::INT64, std::span<const int64_t>(&n, 1), v);
    } else {
      *kept.Add() = std::move(node);
      continue;
    }
    tensor.set_name(node.output(0));
    *graph->add_initializer() = std::move(tensor);
    ++report.changes;
  }
  graph->mutable_node()->Swap(&kept);
  if (report.changes > 0) report.notes.push_back(std::to_string(report.changes) + " Constant nodes -> initializers");
  return report;
}

}  // namespace onnxq
