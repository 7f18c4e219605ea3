#include "quantizer/keep_unfused_ops_float.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "quantizer/hard_sigmoid_as_add.h"

namespace onnxq {
namespace {

// How ONNX Runtime's CPU provider runs a quantized node group of an op type.
enum class RuntimeKernel {
  kNone,         // no QDQ selector: the op runs in float between DequantizeLinear and QuantizeLinear
  kCompute,      // QLinearConv, QLinearMatMul / MatMulIntegerToFloat, QGemm: pays for any Q/DQ
  kCheap,        // element-wise or pooling QLinear* kernels, QLinearConcat, QLinearWhere
  kPassThrough,  // data movement run on the quantized tensor, Relu / Clip folded into a Q
};

RuntimeKernel KernelOf(const std::string& op_type) {
  static const std::map<std::string, RuntimeKernel> kernels = {
      {"Conv", RuntimeKernel::kCompute},
      {"MatMul", RuntimeKernel::kCompute},
      {"Gemm", RuntimeKernel::kCompute},
      {"Add", RuntimeKernel::kCheap},
      {"Mul", RuntimeKernel::kCheap},
      {"Sigmoid", RuntimeKernel::kCheap},
      {"Softmax", RuntimeKernel::kCheap},
      {"LeakyRelu", RuntimeKernel::kCheap},
      {"AveragePool", RuntimeKernel::kCheap},
      {"GlobalAveragePool", RuntimeKernel::kCheap},
      {"Concat", RuntimeKernel::kCheap},
      {"Where", RuntimeKernel::kCheap},
      {"Relu", RuntimeKernel::kPassThrough},
      {"Clip", RuntimeKernel::kPassThrough},
      {"ArgMax", RuntimeKernel::kPassThrough},
      {"MaxPool", RuntimeKernel::kPassThrough},
      {"ReduceMax", RuntimeKernel::kPassThrough},
      {"ReduceMin", RuntimeKernel::kPassThrough},
      {"Resize", RuntimeKernel::kPassThrough},
      {"Reshape", RuntimeKernel::kPassThrough},
      {"Flatten", RuntimeKernel::kPassThrough},
      {"Transpose", RuntimeKernel::kPassThrough},
      {"Squeeze", RuntimeKernel::kPassThrough},
      {"Unsqueeze", RuntimeKernel::kPassThrough},
      {"Split", RuntimeKernel::kPassThrough},
      {"Slice", RuntimeKernel::kPassThrough},
      {"Gather", RuntimeKernel::kPassThrough},
      {"GatherElements", RuntimeKernel::kPassThrough},
      {"Tile", RuntimeKernel::kPassThrough},
      {"Expand", RuntimeKernel::kPassThrough},
  };
  const auto it = kernels.find(op_type);
  return it == kernels.end() ? RuntimeKernel::kNone : it->second;
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// The activation input of `mark` written by a node without a mark, or empty. Graph inputs and
// constants count as quantized.
std::string InputFromFloatNode(const GraphView& graph, const NodeMark& mark, const std::set<int>& marked) {
  const auto& node = graph.graph().node(mark.node);
  for (const auto& intent : mark.intents) {
    if (intent.role != TensorRole::kActivation || graph.IsInitializer(intent.tensor)) continue;
    if (std::find(node.input().begin(), node.input().end(), intent.tensor) == node.input().end()) continue;
    const int producer = graph.Producer(intent.tensor);
    if (producer >= 0 && !marked.contains(producer)) return intent.tensor;
  }
  return {};
}

// Whether no node with a mark reads any tensor `node` writes (graph outputs are read in float).
bool FeedsOnlyFloatReaders(const GraphView& graph, const onnx::NodeProto& node, const std::set<int>& marked) {
  return std::ranges::all_of(node.output(), [&](const std::string& output) {
    return std::ranges::none_of(graph.Consumers(output), [&](int reader) { return marked.contains(reader); });
  });
}

// Whether a data-movement node's output would be quantized for nothing. Relu and Clip (folded into
// their producer's QuantizeLinear) and ArgMax (it reads the 8-bit tensor and writes indices) cost
// nothing as they are.
bool FeedsOnlyFloat(const GraphView& graph, const onnx::NodeProto& node, const std::set<int>& marked) {
  if (node.op_type() == "Relu" || node.op_type() == "Clip" || node.op_type() == "ArgMax") return false;
  return FeedsOnlyFloatReaders(graph, node, marked);
}

// The constant input of a cheap node that would be quantized as a weight of another type than the
// activations (an Add's bias as int8 beside uint8 activations), or empty. ONNX Runtime's QLinearAdd /
// QLinearMul / QLinearConcat / QLinearWhere take one type for every input, so such a node would run in
// float between DequantizeLinear and QuantizeLinear.
std::string ConstantOfOtherType(const NodeMark& mark, const QuantizeOptions& options) {
  if (options.weight_type == options.activation_type) return {};
  for (const auto& intent : mark.intents) {
    if (intent.role == TensorRole::kWeight) return intent.tensor;
  }
  return {};
}

// Whether `node` is the HardSigmoid of a HardSwish written out, x * HardSigmoid(x): a Mul reads its
// output and its input. Where it does not become a QLinearAdd (symmetric activations), its Q/DQ stay
// although the runtime runs it in float: measured with
// bench/run_latency_bench.sh, mobilenet_v3_small and DeepLabV3 (MobileNetV3 backbone) ran 15-25% slower
// with their HardSwish ops float between the quantized Convs than with them quantized.
bool IsHardSigmoidOfHardSwish(const GraphView& graph, const onnx::NodeProto& node) {
  if (node.op_type() != "HardSigmoid" || node.input_size() < 1 || node.output_size() < 1) return false;
  return std::ranges::any_of(graph.Consumers(node.output(0)), [&](int consumer) {
    const auto& mul = graph.graph().node(consumer);
    return mul.op_type() == "Mul" && std::ranges::find(mul.input(), node.input(0)) != mul.input().end();
  });
}

}  // namespace

int KeepUnfusedOpsFloat(const GraphView& graph, const QuantizeOptions& options, QuantPlan* plan) {
  if (options.placement != QdqPlacement::kRuntimeFused) return 0;
  const auto& g = graph.graph();
  // What the user named explicitly stays quantized.
  auto asked_for = [&](const onnx::NodeProto& node) {
    return Contains(options.op_types_to_quantize, node.op_type()) || Contains(options.nodes_to_quantize, node.name());
  };
  std::set<int> marked;
  for (const auto& mark : plan->marks) marked.insert(mark.node);
  std::map<int, std::string> dropped;
  const bool hard_sigmoid_as_add = HardSigmoidQuantizesAsAdd(options);
  auto kernel_of = [&](const onnx::NodeProto& node) {
    return node.op_type() == "HardSigmoid" && hard_sigmoid_as_add ? RuntimeKernel::kCheap : KernelOf(node.op_type());
  };
  for (const auto& mark : plan->marks) {
    const auto& node = g.node(mark.node);
    if (asked_for(node)) continue;
    if (kernel_of(node) == RuntimeKernel::kNone && !IsHardSigmoidOfHardSwish(graph, node)) {
      dropped[mark.node] = "ONNX Runtime's CPU provider has no integer kernel for " + node.op_type() +
                           ": Q/DQ around it would only add work (QdqPlacement=AllQuantizable quantizes it)";
    } else if (const std::string constant = ConstantOfOtherType(mark, options);
               kernel_of(node) == RuntimeKernel::kCheap && !constant.empty()) {
      dropped[mark.node] = "its constant '" + constant + "' would be quantized as a weight of another type than " +
                           "the activations, and ONNX Runtime's integer " + node.op_type() +
                           " takes one type: it would run in float between Q/DQ";
    }
  }
  for (const auto& [index, reason] : dropped) marked.erase(index);
  // Rule 2, until nothing changes: marks are in graph order, so one sweep usually settles a chain.
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& mark : plan->marks) {
      const auto& node = g.node(mark.node);
      if (!marked.contains(mark.node) || kernel_of(node) != RuntimeKernel::kCheap || asked_for(node)) {
        continue;
      }
      const std::string from_float = InputFromFloatNode(graph, mark, marked);
      if (from_float.empty()) continue;
      dropped[mark.node] = "reads '" + from_float + "' from a float node: its own QuantizeLinear would cost more " +
                           "than ONNX Runtime's integer " + node.op_type() + " saves";
      marked.erase(mark.node);
      changed = true;
    }
  }
  // Rule 3, from the outputs back: data movement that only float nodes (or the graph's outputs) read
  // moves float values instead. A quantized output would be dequantized right after, and a large one
  // costs more than its input: a segmentation network's final bilinear upsampling (which the runtime
  // runs in float anyway) wrote 21 x 224 x 224 codes only to dequantize them.
  for (bool changed = true; changed;) {
    changed = false;
    for (auto it = plan->marks.rbegin(); it != plan->marks.rend(); ++it) {
      const auto& node = g.node(it->node);
      if (!marked.contains(it->node) || kernel_of(node) != RuntimeKernel::kPassThrough || asked_for(node) ||
          !FeedsOnlyFloat(graph, node, marked)) {
        continue;
      }
      dropped[it->node] = "only float nodes or the graph's outputs read it: a QuantizeLinear after " + node.op_type() +
                          " would be dequantized right away";
      marked.erase(it->node);
      changed = true;
    }
  }
  // Rule 4: a MatMul or Gemm whose output no quantized node reads (and that TensorQuantOverrides does
  // not name) writes it in float. ONNX Runtime fuses DQ -> MatMul into MatMulIntegerToFloat and
  // DQ -> Gemm into a QGemm with a float output: the same integer product, scaled to float in the
  // kernel, instead of codes that a DequantizeLinear reads back.
  std::vector<NodeMark> kept;
  for (auto& mark : plan->marks) {
    if (!marked.contains(mark.node)) continue;
    const auto& node = g.node(mark.node);
    if ((node.op_type() == "MatMul" || node.op_type() == "Gemm") && !asked_for(node) &&
        !options.tensor_overrides.contains(node.output(0)) && FeedsOnlyFloatReaders(graph, node, marked)) {
      std::erase_if(mark.intents, [&](const TensorIntent& intent) { return intent.tensor == node.output(0); });
    }
    kept.push_back(std::move(mark));
  }
  plan->marks = std::move(kept);
  for (auto& [index, reason] : dropped) plan->left_float[index] = std::move(reason);
  return static_cast<int>(dropped.size());
}

}  // namespace onnxq
