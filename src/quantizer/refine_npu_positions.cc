#include "quantizer/refine_npu_positions.h"

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "algorithms/npu_positions.h"
#include "algorithms/power_of_two.h"
#include "algorithms/qparams.h"
#include "algorithms/sqnr.h"
#include "ir/tensor_util.h"
#include "passes/pass_helpers.h"
#include "quantizer/decide_params.h"
#include "quantizer/mark_nodes.h"
#include "quantizer/remove_fused_activation_qdq.h"

namespace onnxq {
namespace {

// The ops of the refinement's rules.
bool HasRules(const std::string& op) {
  static const std::set<std::string> kOps = {
      "Conv",        "ConvTranspose",     "Gemm", "Add",  "Sub", "Mul", "HardSigmoid", "Concat", "MaxPool",
      "AveragePool", "GlobalAveragePool", "Pad",  "Slice"};
  return kOps.contains(op);
}

// A Mul by one constant value (SimulateDPU's correction).
bool IsConstantMul(const GraphView& graph, const onnx::NodeProto& node) {
  if (!IsDefaultDomain(node) || node.op_type() != "Mul" || node.input_size() != 2) return false;
  const auto* constant = graph.Initializer(node.input(1));
  return constant != nullptr && ElementCount(*constant) == 1 && !graph.IsInitializer(node.input(0));
}

// The only reader of `tensor`, -1 when it has none or several.
int OnlyConsumer(const GraphView& graph, const std::string& tensor) {
  const auto& consumers = graph.Consumers(tensor);
  return consumers.size() == 1 ? consumers.front() : -1;
}

bool IsPowerOfTwoTensor(const TensorQuant& q) {
  return q.axis < 0 && q.params.size() == 1 && q.params[0].scale > 0 &&
         PosToScale(ScaleToPos(q.params[0].scale)) == q.params[0].scale;
}

class Packer {
 public:
  Packer(const GraphView& graph, const QuantPlan& plan) : graph_(graph), plan_(plan) {}

  // `name` as the plan knows it ("" when not quantized with a power-of-two per-tensor scale).
  std::string Quantized(const std::string& name) const {
    if (name.empty()) return "";
    std::string key = name;
    if (const auto it = plan_.renamed_outputs.find(name); it != plan_.renamed_outputs.end()) key = it->second;
    const auto q = plan_.tensors.find(key);
    return q != plan_.tensors.end() && IsPowerOfTwoTensor(q->second) ? key : "";
  }

  PosNode Pack(int index) const {
    const auto& node = graph_.graph().node(index);
    PosNode pos{.name = NodeLabel(node, index), .op_type = node.op_type()};
    const std::string& op = node.op_type();
    const bool conv_like = op == "Conv" || op == "ConvTranspose" || op == "Gemm";
    for (int i = 0; i < node.input_size(); ++i) {
      if (conv_like && i >= 1) break;
      pos.inputs.push_back(graph_.IsInitializer(node.input(i)) ? "" : Quantized(node.input(i)));
    }
    if (conv_like) {
      if (node.input_size() > 1) pos.weight = Quantized(node.input(1));
      if (node.input_size() > 2) pos.bias = Quantized(node.input(2));
    }
    if (node.output_size() == 0) return pos;
    const std::string& out = node.output(0);
    pos.output = Quantized(out);
    const int next = OnlyConsumer(graph_, out);
    if (pos.output.empty() && next >= 0) {
      const auto& reader = graph_.graph().node(next);
      if (conv_like && IsDefaultDomain(reader) && IsFusedActivationOp(reader.op_type())) {
        pos.output = Quantized(reader.output(0));
        pos.feeds_leaky_relu = reader.op_type() == "LeakyRelu";
      } else if ((op == "HardSigmoid" || op == "AveragePool" || op == "GlobalAveragePool") &&
                 IsConstantMul(graph_, reader)) {
        pos.output = Quantized(reader.output(0));
      }
    }
    return pos;
  }

 private:
  const GraphView& graph_;
  const QuantPlan& plan_;
};

// 10 log10(sum x^2 / sum (x - q(x))^2) of `values` quantized with `q` at position `pos`.
double SqnrAt(std::span<const float> values, const TensorQuant& q, int pos) {
  SqnrSums sums;
  AddQuantizedAtPosition(values, q, pos, &sums);
  return sums.SqnrDb();
}

// The move as the report lists it, its SQNRs NaN (not measured).
NpuAdjustment Unmeasured(const PosAdjustment& a) {
  const double not_measured = std::numeric_limits<double>::quiet_NaN();
  return NpuAdjustment{.node = a.node,
                       .tensor = a.tensor,
                       .rule = a.rule,
                       .old_pos = a.old_pos,
                       .new_pos = a.new_pos,
                       .loop = a.loop,
                       .old_sqnr_db = not_measured,
                       .new_sqnr_db = not_measured};
}

}  // namespace

void AddQuantizedAtPosition(std::span<const float> values, const TensorQuant& q, int pos, SqnrSums* sums) {
  QuantParams params = q.params.at(0);
  params.scale = PosToScale(pos);
  std::vector<float> quantized(values.size());
  for (size_t i = 0; i < values.size(); ++i) quantized[i] = FakeQuantize(values[i], params, q.range);
  sums->Add(values, quantized);
}

int RemoveDpuCorrectionQdq(const GraphView& graph, QuantPlan* plan) {
  int removed = 0;
  const auto& g = graph.graph();
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& node = g.node(i);
    const std::string& op = node.op_type();
    if (!IsDefaultDomain(node) || node.output_size() == 0 ||
        (op != "HardSigmoid" && op != "AveragePool" && op != "GlobalAveragePool" && op != "ReduceMean")) {
      continue;
    }
    const int next = OnlyConsumer(graph, node.output(0));
    if (next < 0 || !IsConstantMul(graph, g.node(next)) || !plan->tensors.contains(g.node(next).output(0))) continue;
    if (plan->tensors.erase(node.output(0)) > 0) ++removed;
  }
  return removed;
}

Result<NpuRefinementReport> RefineNpuPlan(const GraphView& graph, const NpuLimitationOptions& options,
                                          const std::set<std::string>& pinned, QuantPlan* plan) {
  const Packer packer(graph, *plan);
  std::vector<PosNode> nodes;
  for (const auto& mark : plan->marks) {
    const auto& node = graph.graph().node(mark.node);
    if (IsDefaultDomain(node) && HasRules(node.op_type())) nodes.push_back(packer.Pack(mark.node));
  }
  std::map<std::string, int> positions;
  for (const auto& [tensor, q] : plan->tensors) {
    if (IsPowerOfTwoTensor(q)) positions[tensor] = ScaleToPos(q.params[0].scale);
  }
  const PosRefinement refined = RefineNpuPositions(nodes, positions,
                                                   {.max_loops = options.max_loops,
                                                    .shift_cut = options.shift_cut,
                                                    .shift_bias = options.shift_bias,
                                                    .shift_read = options.shift_read,
                                                    .shift_write = options.shift_write,
                                                    .hard_sigmoid = options.hard_sigmoid,
                                                    .shift_swish = options.shift_swish,
                                                    .align_concat = options.align_concat,
                                                    .align_pool = options.align_pool,
                                                    .align_pad = options.align_pad,
                                                    .align_slice = options.align_slice},
                                                   pinned);
  NpuRefinementReport report{.loops = refined.loops, .converged = refined.converged};
  for (const PosAdjustment& a : refined.adjustments) {
    NpuAdjustment adjustment = Unmeasured(a);
    const TensorQuant& q = plan->tensors.at(a.tensor);
    if (q.role != TensorRole::kActivation) {
      if (const auto* init = graph.Initializer(a.tensor); init != nullptr) {
        ONNXQ_ASSIGN_OR_RETURN(const auto values, ToFloats(*init));
        adjustment.old_sqnr_db = SqnrAt(values, q, a.old_pos);
        adjustment.new_sqnr_db = SqnrAt(values, q, a.new_pos);
      }
    }
    report.adjustments.push_back(std::move(adjustment));
  }
  for (const PosAdjustment& a : refined.held) report.held.push_back(Unmeasured(a));
  for (const auto& [tensor, pos] : refined.pos) {
    TensorQuant& q = plan->tensors.at(tensor);
    q.params[0].scale = PosToScale(pos);
  }
  return report;
}

}  // namespace onnxq
