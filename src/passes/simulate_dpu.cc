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

}  // namespace

Result<PassReport> SimulateDpuPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  GraphView view(model.mutable_graph());
  PassReport report;
  int64_t alphas = 0;
  int64_t averages = 0;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  std::vector<onnx::TensorProto> factors;
  for (auto& node : *view.graph().mutable_node()) {
    const bool default_domain = IsDefaultDomain(node);
    if (default_domain && options_.leaky_relu && node.op_type() == "LeakyRelu") {
      const float alpha = AttrFloat(node, "alpha", 0.01F);
      const float dpu = DpuLeakyReluAlpha(alpha);
      if (dpu != alpha) {
        onnx::AttributeProto* attr = nullptr;
        for (auto& a : *node.mutable_attribute()) {
          if (a.name() == "alpha") attr = &a;
        }
        if (attr == nullptr) {
          attr = node.add_attribute();
          attr->set_name("alpha");
          attr->set_type(onnx::AttributeProto::FLOAT);
        }
        attr->set_f(dpu);
        ++alphas;
      }
    }
    std::optional<double> correction;
    if (default_domain && IsAverage(node, options_)) {
      std::string why;
      correction = AverageCorrection(view, node, &why);
      if (!correction) report.notes.push_back(Describe(node) + " keeps its exact average: " + why);
    }
    if (!correction || *correction == 1.0) {
      *nodes.Add() = std::move(node);
      continue;
    }
    const std::string output = node.output(0);
    const std::string exact = view.UniqueName(output + "_exact_mean");
    const std::string factor = view.UniqueName(output + "_dpu_correction");
    node.set_output(0, exact);
    *nodes.Add() = std::move(node);
    onnx::NodeProto& mul = *nodes.Add();
    mul.set_op_type("Mul");
    mul.set_name(view.UniqueName(output + "_dpu_mean"));
    mul.add_input(exact);
    mul.add_input(factor);
    mul.add_output(output);
    factors.push_back(MakeScalarFloat(factor, static_cast<float>(*correction)));
    ++averages;
  }
  view.graph().mutable_node()->Swap(&nodes);
  for (auto& factor : factors) *view.graph().add_initializer() = std::move(factor);
  report.changes = alphas + averages;
  if (alphas > 0) report.notes.push_back(std::to_string(alphas) + " LeakyRelu alpha rounded to 1/256");
  if (averages > 0) {
    report.notes.push_back(std::to_string(averages) + " averages scaled to the DPU's multiplier M / 2^N");
  }
  return report;
}

}  // namespace onnxq
