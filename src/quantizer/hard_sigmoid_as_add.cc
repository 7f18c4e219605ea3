#include "quantizer/hard_sigmoid_as_add.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "quantizer/qdq_nodes.h"

namespace onnxq {
namespace {

int64_t LowestCode(int32_t type) { return type == onnx::TensorProto::UINT8 ? 0 : -128; }
int64_t HighestCode(int32_t type) { return type == onnx::TensorProto::UINT8 ? 255 : 127; }

// c as one code of `type` with a scale and zero point that give it back exactly (up to float
// rounding): the extreme code on c's side of zero.
struct QuantizedScalar {
  int64_t code = 0;
  float scale = 1.0F;
  int64_t zero_point = 0;
};

QuantizedScalar QuantizeScalar(double c, int32_t type) {
  if (c == 0.0) return {};
  if (type == onnx::TensorProto::UINT8) {
    return c > 0 ? QuantizedScalar{255, static_cast<float>(c / 255.0), 0}
                 : QuantizedScalar{0, static_cast<float>(-c / 255.0), 255};
  }
  return c > 0 ? QuantizedScalar{127, static_cast<float>(c / 127.0), 0}
               : QuantizedScalar{-128, static_cast<float>(-c / 128.0), 0};
}

// The QuantizeLinear that alone reads `node`'s output, or -1.
int OnlyQuantizeReader(const GraphView& graph, const onnx::NodeProto& node) {
  if (node.output_size() != 1 || graph.IsGraphOutput(node.output(0)) || graph.ReadBySubgraph(node.output(0))) {
    return -1;
  }
  const auto& readers = graph.Consumers(node.output(0));
  if (readers.size() != 1) return -1;
  const auto& q = graph.graph().node(readers.front());
  return q.op_type() == "QuantizeLinear" && IsQdqDomain(q.domain()) && q.input_size() == 3 &&
                 q.input(0) == node.output(0)
             ? readers.front()
             : -1;
}

// What the rewrites add, appended once they are all decided (the view's initializer lookups stay valid).
struct Additions {
  std::vector<onnx::TensorProto> initializers;
  std::vector<onnx::NodeProto> dequantizes;
};

bool RewriteOne(GraphView& graph, int index, Additions* added) {
  auto& node = *graph.graph().mutable_node(index);
  if (node.op_type() != "HardSigmoid" || !node.domain().empty() || node.input_size() != 1) return false;
  const float alpha = AttrFloat(node, "alpha", 0.2F);
  const float beta = AttrFloat(node, "beta", 0.5F);
  if (!(alpha > 0.0F) || !std::isfinite(beta)) return false;
  const auto* dq = DequantizeWriting(graph, node.input(0));
  const int q_index = OnlyQuantizeReader(graph, node);
  if (dq == nullptr || q_index < 0 || dq->domain() != graph.graph().node(q_index).domain()) return false;
  auto& q = *graph.graph().mutable_node(q_index);
  const int32_t type = EightBitType(graph, q);
  if (type == 0 || EightBitType(graph, *dq) != type) return false;
  const auto scale = ScalarInitializerValue(graph, q.input(1));
  const auto zero_point = ScalarInitializerValue(graph, q.input(2));
  if (!scale || !zero_point || !(*scale > 0.0) || *zero_point != static_cast<double>(LowestCode(type))) return false;
  // The grid must end at or below 1, where HardSigmoid clips (calibrated ranges of its output do).
  if (*scale * static_cast<double>(HighestCode(type) - LowestCode(type)) > 1.0 + 1e-6) return false;

  const std::string base = node.name().empty() ? node.output(0) : node.name();
  const QuantizedScalar c = QuantizeScalar(static_cast<double>(beta) / static_cast<double>(alpha), type);
  const std::string c_code = graph.UniqueName(base + "_offset_quantized");
  const std::string c_scale = graph.UniqueName(base + "_offset_scale");
  const std::string c_zero_point = graph.UniqueName(base + "_offset_zero_point");
  const std::string c_value = graph.UniqueName(base + "_offset");
  const std::string q_scale = graph.UniqueName(q.input(1) + "_over_alpha");
  const std::vector<int64_t> scalar;
  added->initializers.push_back(MakeIntTensor(c_code, type, scalar, std::vector<int64_t>{c.code}));
  added->initializers.push_back(MakeScalarFloat(c_scale, c.scale));
  added->initializers.push_back(MakeIntTensor(c_zero_point, type, scalar, std::vector<int64_t>{c.zero_point}));
  added->initializers.push_back(MakeScalarFloat(q_scale, static_cast<float>(*scale / static_cast<double>(alpha))));
  q.set_input(1, q_scale);

  onnx::NodeProto dequantize;
  dequantize.set_op_type("DequantizeLinear");
  dequantize.set_domain(q.domain());
  dequantize.set_name(graph.UniqueName(base + "_offset_DequantizeLinear"));
  dequantize.add_input(c_code);
  dequantize.add_input(c_scale);
  dequantize.add_input(c_zero_point);
  dequantize.add_output(c_value);

  added->dequantizes.push_back(std::move(dequantize));
  node.set_op_type("Add");
  node.clear_attribute();
  node.add_input(c_value);
  return true;
}

}  // namespace

bool HardSigmoidQuantizesAsAdd(const QuantizeOptions& options) {
  return options.placement == QdqPlacement::kRuntimeFused && options.npu_mode == NpuMode::kNone &&
         !options.activation_symmetric &&
         (options.activation_type == QuantType::kUInt8 || options.activation_type == QuantType::kInt8);
}

int ExpressHardSigmoidAsAdd(onnx::GraphProto* graph) {
  GraphView view(graph);
  Additions added;
  int rewritten = 0;
  for (int i = 0; i < graph->node_size(); ++i) {
    if (RewriteOne(view, i, &added)) ++rewritten;
  }
  for (auto& init : added.initializers) *graph->add_initializer() = std::move(init);
  // The constants' DequantizeLinear nodes go first: the node list stays in topological order.
  auto* nodes = graph->mutable_node();
  for (auto& dq : added.dequantizes) *nodes->Add() = std::move(dq);
  std::rotate(nodes->begin(), nodes->end() - static_cast<int>(added.dequantizes.size()), nodes->end());
  return rewritten;
}

}  // namespace onnxq
