#include "quantizer/qdq_nodes.h"

#include <algorithm>
#include <unordered_set>

#include "ir/tensor_util.h"

namespace onnxq {

bool IsQdqDomain(const std::string& domain) { return domain.empty() || domain == "com.microsoft"; }

int32_t EightBitType(const GraphView& graph, const onnx::NodeProto& node) {
  if (node.input_size() < 3) return 0;
  const auto* zero_point = graph.Initializer(node.input(2));
  if (zero_point == nullptr) return 0;
  const int32_t type = zero_point->data_type();
  return type == onnx::TensorProto::UINT8 || type == onnx::TensorProto::INT8 ? type : 0;
}

bool AllZero(const onnx::TensorProto& zero_point) {
  const auto values = ToInt64s(zero_point);
  return values.ok() && std::ranges::all_of(*values, [](int64_t v) { return v == 0; });
}

const onnx::NodeProto* DequantizeWriting(const GraphView& graph, const std::string& tensor) {
  const int index = graph.Producer(tensor);
  if (index < 0) return nullptr;
  const auto& node = graph.graph().node(index);
  return node.op_type() == "DequantizeLinear" && IsQdqDomain(node.domain()) && node.input_size() == 3 ? &node : nullptr;
}

int OnlyReader(const GraphView& graph, const std::string& tensor) {
  if (graph.IsGraphOutput(tensor) || graph.ReadBySubgraph(tensor)) return -1;
  const auto& readers = graph.Consumers(tensor);
  return readers.size() == 1 ? readers.front() : -1;
}

std::optional<QuantizedParameter> OwnedParameter(GraphView& graph, const onnx::NodeProto& node, int input,
                                                 int32_t type) {
  if (node.input_size() <= input || node.input(input).empty()) return std::nullopt;
  const auto* dq = DequantizeWriting(graph, node.input(input));
  if (dq == nullptr || OnlyReader(graph, dq->output(0)) < 0) return std::nullopt;
  for (int i = 0; i < 3; ++i) {
    if (!graph.IsInitializer(dq->input(i)) || graph.Consumers(dq->input(i)).size() != 1) return std::nullopt;
  }
  QuantizedParameter p{graph.MutableInitializer(dq->input(0)), graph.MutableInitializer(dq->input(1)),
                       graph.MutableInitializer(dq->input(2))};
  if (p.values->data_type() != type || !AllZero(*p.zero_point)) return std::nullopt;
  if (ElementCount(*p.scale) > 1) {
    for (const auto& attr : dq->attribute()) {
      if (attr.name() == "axis" && attr.i() != 0) return std::nullopt;
    }
  }
  return p;
}

std::optional<double> ScalarInitializerValue(const GraphView& graph, const std::string& name) {
  const auto* init = graph.Initializer(name);
  if (init == nullptr || ElementCount(*init) != 1) return std::nullopt;
  if (init->data_type() == onnx::TensorProto::FLOAT) {
    auto values = ToFloats(*init);
    if (!values.ok()) return std::nullopt;
    return static_cast<double>(values->front());
  }
  auto values = ToInt64s(*init);
  if (!values.ok()) return std::nullopt;
  return static_cast<double>(values->front());
}

std::optional<double> ScalarConstantValue(const GraphView& graph, const std::string& tensor) {
  if (graph.IsInitializer(tensor)) return ScalarInitializerValue(graph, tensor);
  const auto* dq = DequantizeWriting(graph, tensor);
  if (dq == nullptr) return std::nullopt;
  const auto code = ScalarInitializerValue(graph, dq->input(0));
  const auto scale = ScalarInitializerValue(graph, dq->input(1));
  const auto zero_point = ScalarInitializerValue(graph, dq->input(2));
  if (!code || !scale || !zero_point) return std::nullopt;
  return (*code - *zero_point) * *scale;
}

void RemoveUnreadDequantizes(const std::vector<std::string>& candidates, onnx::GraphProto* graph) {
  std::unordered_set<std::string> names(candidates.begin(), candidates.end());
  GraphView view(graph);
  const auto unread = [&](const std::string& name) {
    return names.contains(name) && view.Consumers(name).empty() && !view.IsGraphOutput(name) &&
           !view.IsGraphInput(name);
  };
  auto* nodes = graph->mutable_node();
  for (int i = nodes->size() - 1; i >= 0; --i) {
    const auto& node = nodes->Get(i);
    if (node.op_type() == "DequantizeLinear" && node.output_size() == 1 && unread(node.output(0))) {
      names.insert(node.input().begin(), node.input().end());
      nodes->DeleteSubrange(i, 1);
    }
  }
  view.Rebuild();
  auto* inits = graph->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i) {
    if (unread(inits->Get(i).name())) inits->DeleteSubrange(i, 1);
  }
}

}  // namespace onnxq
