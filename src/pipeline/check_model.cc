#include "pipeline/check_model.h"

#include <onnx/checker.h>

#include <map>
#include <set>

namespace onnxq {
namespace {

constexpr const char* kQdq = "QuantizeLinear/DequantizeLinear";

// The name a quantized op is counted under, or nullptr for a float op.
const char* QuantizedOpKind(const onnx::NodeProto& node) {
  static const std::set<std::string> kIntegerOps = {"ConvInteger",
                                                    "MatMulInteger",
                                                    "DynamicQuantizeLinear",
                                                    "QGemm",
                                                    "QAttention",
                                                    "QEmbedLayerNormalization",
                                                    "DynamicQuantizeMatMul",
                                                    "DynamicQuantizeLSTM",
                                                    "MatMulIntegerToFloat",
                                                    "MatMulNBits",
                                                    "MatMulBnb4",
                                                    "GatherBlockQuantized"};
  const std::string& op = node.op_type();
  if (op == "QuantizeLinear" || op == "DequantizeLinear") return kQdq;
  if (op.starts_with("QLinear") || kIntegerOps.contains(op)) return op.c_str();
  return nullptr;
}

void CountQuantizedOps(const onnx::GraphProto& graph, std::map<std::string, int64_t>& counts) {
  for (const auto& node : graph.node()) {
    if (const char* kind = QuantizedOpKind(node); kind != nullptr) ++counts[kind];
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) CountQuantizedOps(attr.g(), counts);
      for (const auto& g : attr.graphs()) CountQuantizedOps(g, counts);
    }
  }
}

// The checker's complaint, or an empty string when the model passes.
std::string CheckerMessage(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    std::string message = e.what();
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return message.empty() ? std::string("(no message)") : message;
  }
  return {};
}

}  // namespace

Status CheckFloatModel(const onnx::ModelProto& model, const std::string& origin) {
  std::map<std::string, int64_t> counts;
  CountQuantizedOps(model.graph(), counts);
  if (counts.empty()) return Status::Ok();
  std::string found;
  auto add = [&found](const std::string& kind, int64_t count) {
    found += (found.empty() ? "" : ", ") + std::to_string(count) + " " + kind;
  };
  if (const auto it = counts.find(kQdq); it != counts.end()) add(it->first, it->second);
  for (const auto& [kind, count] : counts) {
    if (kind != kQdq) add(kind, count);
  }
  return InvalidModel(origin + " is already quantized (" + found + "): give onnxq the float model");
}

Status CheckGraphOutputs(const onnx::GraphProto& graph) {
  std::set<std::string> defined;
  for (const auto& input : graph.input()) defined.insert(input.name());
  for (const auto& init : graph.initializer()) defined.insert(init.name());
  for (const auto& node : graph.node()) defined.insert(node.output().begin(), node.output().end());
  for (const auto& output : graph.output()) {
    if (!defined.contains(output.name())) {
      return InvalidModel("graph output '" + output.name() +
                          "' is produced by no node and is neither a graph input nor an initializer");
    }
  }
  return Status::Ok();
}

bool PassesChecker(const onnx::ModelProto& model) { return CheckerMessage(model).empty(); }

Status CheckPreparedModel(const onnx::ModelProto& prepared, bool input_passes_checker) {
  const std::string message = CheckerMessage(prepared);
  if (message.empty()) return Status::Ok();
  if (input_passes_checker) {
    return Internal("the graph passes left a model that fails the ONNX checker (" + message +
                    "); the model as given passes it: please report this, with the model");
  }
  return InvalidModel("the model fails the ONNX checker, and so would its quantized version: " + message +
                      ". Fix the model first (onnx.checker.check_model(model) in Python shows the same), e.g. by "
                      "re-exporting it with a current exporter, or by running it through onnxsim");
}

}  // namespace onnxq
