#include "passes/simulate_dpu.h"

#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "algorithms/dpu_approximations.h"
#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

// The values an average of `node` takes in each window: nullopt when unknown (a note says why in
// `why`), 0 for a node that is no average.
std::optional<int64_t> AveragedCount(const GraphView& view, const onnx::NodeProto& node, std::string* why) {
  const std::optional<std::vector<int64_t>> shape =
      node.input_size() > 0 ? view.Shape(node.input(0)) : std::optional<std::vector<int64_t>>();
  const auto known = [&](const std::vector<int64_t>& axes) -> std::optional<int64_t> {
    if (!shape) {
      *why = "its input's shape is unknown";
      return std::nullopt;
    }
    int64_t count = 1;
    const auto rank = static_cast<int64_t>(shape->size());
    for (int64_t axis : axes) {
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank || (*shape)[axis] <= 0) {
        *why = "a reduced dim is not known";
        return std::nullopt;
      }
      count *= (*shape)[axis];
    }
    return count;
  };
  if (node.op_type() == "GlobalAveragePool") {
    if (!shape || shape->size() < 3) {
      *why = "its input's shape is unknown";
      return std::nullopt;
    }
    std::vector<int64_t> spatial;
    for (size_t axis = 2; axis < shape->size(); ++axis) spatial.push_back(static_cast<int64_t>(axis));
    return known(spatial);
  }
  // ReduceMean: axes from the attribute (before opset 18) or the second input; none: every axis.
  std::vector<int64_t> axes = AttrInts(node, "axes");
  if (axes.empty() && node.input_size() > 1 && !node.input(1).empty()) {
    const auto values = ConstantValues(view, node.input(1));
    if (!values) {
      *why = "its axes are not constant";
      return std::nullopt;
    }
    for (const float v : *values) axes.push_back(static_cast<int64_t>(v));
  }
  if (axes.empty()) {
    if (!shape) {
      *why = "its input's shape is unknown";
      return std::nullopt;
    }
    for (size_t axis = 0; axis < shape->size(); ++axis) axes.push_back(static_cast<int64_t>(axis));
  }
  return known(axes);
}

// The correction of `node`'s average (1: none), or nullopt with the reason in `why`.
std::optional<double> AverageCorrection(const GraphView& view, const onnx::NodeProto& node, std::string* why) {
  if (node.op_type() == "AveragePool") {
    const std::vector<int64_t> kernel = AttrInts(node, "kernel_shape");
    if (kernel.size() != 2) {
      *why = "its kernel is not two-dimensional";
      return std::nullopt;
    }
    return DpuMeanCorrection(DpuPoolMultiplier(kernel[0], kernel[1]), kernel[0] * kernel[1]);
  }
  const std::optional<int64_t> count = AveragedCount(view, node, why);
  if (!count) return std::nullopt;
  if (node.op_type() == "GlobalAveragePool") {
    const std::optional<std::vector<int64_t>> shape = view.Shape(node.input(0));
    if (shape && shape->size() == 4) return DpuMeanCorrection(DpuPoolMultiplier((*shape)[2], (*shape)[3]), *count);
  }
  return DpuMeanCorrection(DpuMeanMultiplier(*count), *count);
}

bool IsAverage(const onnx::NodeProto& node, const SimulateDpuOptions& options) {
  if (node.output_size() != 1 || node.input_size() < 1) return false;
  const std::string& op = node.op_type();
  return (options.avg_pool && (op == "AveragePool" || op == "GlobalAveragePool")) ||
         (options.reduce_mean && op == "ReduceMean");
}

void SetFloatAttr(onnx::NodeProto& node, const std::string& name, float value) {
  for (auto& attr : *node.mutable_attribute()) {
    if (attr.name() == name) {
      attr.set_f(value);
      return;
    }
  }
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::FLOAT);
  attr->set_f(value);
}

// One input and one output, float32 or of a type shape inference did not record: the scale is a float32
// initializer, and Mul takes one type.
bool IsFloatUnary(const GraphView& view, const onnx::NodeProto& node) {
  if (node.input_size() != 1 || node.output_size() != 1 || node.input(0).empty()) return false;
  const int32_t type = view.ElemType(node.input(0));
  return type == 0 || type == onnx::TensorProto::FLOAT;
}

// The node list the pass builds, with the scalar initializers its Muls read.
struct Rewritten {
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  std::vector<onnx::TensorProto> factors;
  std::string hard_sigmoid_scale;  // the one initializer every HardSigmoid's Mul reads, once made
};

// Suffixes of what AppendScaled adds to the scaled node's output name: the node's new output, the Mul.
struct ScaledNames {
  const char* exact;
  const char* mul;
};

// Appends `node` writing a new tensor, and a Mul of that tensor by the scalar initializer `factor`
// writing the node's old output.
void AppendScaled(GraphView& view, onnx::NodeProto node, const std::string& factor, const ScaledNames& names,
                  Rewritten& out) {
  const std::string output = node.output(0);
  const std::string exact = view.UniqueName(output + names.exact);
  node.set_output(0, exact);
  *out.nodes.Add() = std::move(node);
  onnx::NodeProto& mul = *out.nodes.Add();
  mul.set_op_type("Mul");
  mul.set_name(view.UniqueName(output + names.mul));
  mul.add_input(exact);
  mul.add_input(factor);
  mul.add_output(output);
}

// The initializer of HARD_SIGMOID_SCALE, made on first use.
const std::string& HardSigmoidScale(GraphView& view, Rewritten& out) {
  if (out.hard_sigmoid_scale.empty()) {
    out.hard_sigmoid_scale = view.UniqueName("dpu_hard_sigmoid_scale");
    out.factors.push_back(MakeScalarFloat(out.hard_sigmoid_scale, static_cast<float>(DpuHardSigmoidScale())));
  }
  return out.hard_sigmoid_scale;
}

constexpr ScaledNames kHardSigmoidNames = {"_exact_hard_sigmoid", "_dpu_hard_sigmoid"};
constexpr ScaledNames kAverageNames = {"_exact_mean", "_dpu_mean"};

// HardSwish(x) = x * HardSigmoid(x; 1/6, 0.5) -> Mul(x, Mul(HardSigmoid(x; 1/6, 0.5), scale)). The last
// Mul keeps the HardSwish's name and output.
void AppendDpuHardSwish(GraphView& view, const onnx::NodeProto& hard_swish, Rewritten& out) {
  const std::string& x = hard_swish.input(0);
  const std::string& y = hard_swish.output(0);
  const std::string base = hard_swish.name().empty() ? y : hard_swish.name();
  const std::string gate = view.UniqueName(y + "_gate");
  onnx::NodeProto hard_sigmoid;
  hard_sigmoid.set_op_type("HardSigmoid");
  hard_sigmoid.set_name(view.UniqueName(base + "_hard_sigmoid"));
  hard_sigmoid.add_input(x);
  hard_sigmoid.add_output(gate);
  SetFloatAttr(hard_sigmoid, "alpha", kDpuHardSigmoidAlpha);
  SetFloatAttr(hard_sigmoid, "beta", kDpuHardSigmoidBeta);
  AppendScaled(view, std::move(hard_sigmoid), HardSigmoidScale(view, out), kHardSigmoidNames, out);
  onnx::NodeProto& mul = *out.nodes.Add();
  mul.set_op_type("Mul");
  mul.set_name(hard_swish.name().empty() ? view.UniqueName(y + "_hard_swish") : hard_swish.name());
  mul.add_input(x);
  mul.add_input(gate);
  mul.add_output(y);
}

}  // namespace

Result<PassReport> SimulateDpuPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  GraphView view(model.mutable_graph());
  PassReport report;
  int64_t alphas = 0;
  int64_t averages = 0;
  int64_t sigmoids = 0;
  int64_t hard_sigmoids = 0;
  int64_t hard_swishes = 0;
  Rewritten out;
  for (auto& node : *view.graph().mutable_node()) {
    const bool default_domain = IsDefaultDomain(node);
    if (default_domain && options_.leaky_relu && node.op_type() == "LeakyRelu") {
      const float alpha = AttrFloat(node, "alpha", 0.01F);
      const float dpu = DpuLeakyReluAlpha(alpha);
      if (dpu != alpha) {
        SetFloatAttr(node, "alpha", dpu);
        ++alphas;
      }
    }
    if (default_domain && options_.sigmoid && node.op_type() == "Sigmoid" && IsFloatUnary(view, node)) {
      node.set_op_type("HardSigmoid");
      SetFloatAttr(node, "alpha", kDpuHardSigmoidAlpha);
      SetFloatAttr(node, "beta", kDpuHardSigmoidBeta);
      ++sigmoids;
    }
    if (default_domain && options_.hard_sigmoid && IsFloatUnary(view, node)) {
      if (node.op_type() == "HardSigmoid" && IsDpuHardSigmoidAlpha(AttrFloat(node, "alpha", 0.2F))) {
        AppendScaled(view, std::move(node), HardSigmoidScale(view, out), kHardSigmoidNames, out);
        ++hard_sigmoids;
        continue;
      }
      if (node.op_type() == "HardSwish") {
        AppendDpuHardSwish(view, node, out);
        ++hard_swishes;
        continue;
      }
    }
    std::optional<double> correction;
    if (default_domain && IsAverage(node, options_)) {
      std::string why;
      correction = AverageCorrection(view, node, &why);
      if (!correction) report.notes.push_back(Describe(node) + " keeps its exact average: " + why);
    }
    if (!correction || *correction == 1.0) {
      *out.nodes.Add() = std::move(node);
      continue;
    }
    const std::string factor = view.UniqueName(node.output(0) + "_dpu_correction");
    out.factors.push_back(MakeScalarFloat(factor, static_cast<float>(*correction)));
    AppendScaled(view, std::move(node), factor, kAverageNames, out);
    ++averages;
  }
  view.graph().mutable_node()->Swap(&out.nodes);
  for (auto& factor : out.factors) *view.graph().add_initializer() = std::move(factor);
  report.changes = alphas + averages + sigmoids + hard_sigmoids + hard_swishes;
  if (alphas > 0) report.notes.push_back(std::to_string(alphas) + " LeakyRelu alpha rounded to 1/256");
  if (averages > 0) {
    report.notes.push_back(std::to_string(averages) + " averages scaled to the DPU's multiplier M / 2^N");
  }
  if (sigmoids > 0) report.notes.push_back(std::to_string(sigmoids) + " Sigmoid -> HardSigmoid(1/6, 0.5)");
  if (hard_sigmoids > 0) {
    report.notes.push_back(std::to_string(hard_sigmoids) +
                           " HardSigmoid(1/6) scaled by 8193/8192 to the DPU's 1/6 = 2731/16384");
  }
  if (hard_swishes > 0) {
    report.notes.push_back(std::to_string(hard_swishes) +
                           " HardSwish -> x * HardSigmoid(x) scaled by 8193/8192 to the DPU's 1/6 = 2731/16384");
  }
  return report;
}

}  // namespace onnxq
