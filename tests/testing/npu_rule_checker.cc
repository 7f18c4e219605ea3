#include "testing/npu_rule_checker.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

namespace onnxq::testing {
namespace {

using onnx::NodeProto;
using onnx::TensorProto;

bool OneOf(const std::string& value, std::initializer_list<std::string_view> choices) {
  return std::find(choices.begin(), choices.end(), value) != choices.end();
}

bool IsFusedActivation(const std::string& op) { return OneOf(op, {"Relu", "Clip", "LeakyRelu", "PRelu"}); }

std::string Join(const std::vector<int>& values) {
  std::string text = "[";
  for (std::size_t k = 0; k < values.size(); ++k) text += (k == 0 ? "" : ", ") + std::to_string(values[k]);
  return text + "]";
}

int64_t ElementCount(const TensorProto& tensor) {
  int64_t count = 1;
  for (int64_t dim : tensor.dims()) count *= dim;
  return count;
}

// `count` little-endian elements of type T from raw bytes; empty when the byte count differs.
template <typename T>
std::vector<double> RawValues(const std::string& raw, int64_t count) {
  std::vector<double> values;
  if (raw.size() != static_cast<std::size_t>(count) * sizeof(T)) return values;
  for (int64_t k = 0; k < count; ++k) {
    T value{};
    std::memcpy(&value, raw.data() + static_cast<std::size_t>(k) * sizeof(T), sizeof(T));
    values.push_back(static_cast<double>(value));
  }
  return values;
}

// The values of a float or integer initializer (stored in its typed field or raw); nullopt when the
// type is another or the data does not match the dims (external data included).
std::optional<std::vector<double>> Values(const TensorProto& tensor) {
  const int64_t count = ElementCount(tensor);
  std::vector<double> values;
  const bool raw = tensor.has_raw_data();
  switch (tensor.data_type()) {
    case TensorProto::FLOAT:
      if (raw) {
        values = RawValues<float>(tensor.raw_data(), count);
      } else {
        values.assign(tensor.float_data().begin(), tensor.float_data().end());
      }
      break;
    case TensorProto::INT8:
    case TensorProto::UINT8:
    case TensorProto::INT16:
    case TensorProto::UINT16:
    case TensorProto::INT32:
      if (raw) {
        switch (tensor.data_type()) {
          case TensorProto::INT8:
            values = RawValues<int8_t>(tensor.raw_data(), count);
            break;
          case TensorProto::UINT8:
            values = RawValues<uint8_t>(tensor.raw_data(), count);
            break;
          case TensorProto::INT16:
            values = RawValues<int16_t>(tensor.raw_data(), count);
            break;
          case TensorProto::UINT16:
            values = RawValues<uint16_t>(tensor.raw_data(), count);
            break;
          default:
            values = RawValues<int32_t>(tensor.raw_data(), count);
            break;
        }
      } else {
        values.assign(tensor.int32_data().begin(), tensor.int32_data().end());
      }
      break;
    default:
      return std::nullopt;
  }
  if (static_cast<int64_t>(values.size()) != count) return std::nullopt;
  return values;
}

std::string TypeName(int32_t type) {
  switch (type) {
    case TensorProto::INT8:
      return "int8";
    case TensorProto::UINT8:
      return "uint8";
    case TensorProto::INT16:
      return "int16";
    case TensorProto::UINT16:
      return "uint16";
    case TensorProto::INT32:
      return "int32";
    case TensorProto::FLOAT:
      return "float";
    default:
      return "type " + std::to_string(type);
  }
}

// The zero point a symmetric quantization of `type` has; nullopt for types without one here.
std::optional<double> SymmetricZeroPoint(int32_t type) {
  switch (type) {
    case TensorProto::INT8:
    case TensorProto::INT16:
    case TensorProto::INT32:
      return 0.0;
    case TensorProto::UINT8:
      return 128.0;
    case TensorProto::UINT16:
      return 32768.0;
    default:
      return std::nullopt;
  }
}

// -log2(scale) when the scale is exactly a positive power of two (subnormals included).
std::optional<int> PosOfScale(float scale) {
  int exponent = 0;
  if (!std::isfinite(scale) || scale <= 0.0F || std::frexp(scale, &exponent) != 0.5F) return std::nullopt;
  return 1 - exponent;  // scale = 0.5 * 2^exponent
}

float FloatAttribute(const NodeProto& node, const std::string& name, float fallback) {
  for (const onnx::AttributeProto& attribute : node.attribute()) {
    if (attribute.name() == name) return attribute.f();
  }
  return fallback;
}

// The DPU's HardSigmoid: alpha 1/6 (to float precision), beta 0.5.
bool IsDpuHardSigmoid(const NodeProto& node) {
  if (node.op_type() != "HardSigmoid") return false;
  const float alpha = FloatAttribute(node, "alpha", 0.2F);
  const float beta = FloatAttribute(node, "beta", 0.5F);
  return std::fabs(static_cast<double>(alpha) - 1.0 / 6.0) < 1e-6 && beta == 0.5F;
}

class Checker {
 public:
  Checker(const onnx::GraphProto& graph, const NpuRuleCheckOptions& options) : graph_(graph), options_(options) {
    for (const TensorProto& initializer : graph_.initializer()) initializers_.emplace(initializer.name(), &initializer);
    for (const NodeProto& node : graph_.node()) {
      for (const std::string& output : node.output()) producers_.emplace(output, &node);
      for (const std::string& input : node.input()) {
        if (!input.empty()) consumers_[input].push_back(&node);
      }
    }
  }

  std::vector<std::string> Run() {
    for (const NodeProto& node : graph_.node()) {
      if (IsQdq(node)) CheckQdqParams(node);
    }
    for (const NodeProto& node : graph_.node()) {
      if (OneOf(node.op_type(), {"Conv", "ConvTranspose", "Gemm"})) {
        CheckWeight(node);
        CheckBias(node);
        CheckShiftCut(node);
      }
      if (OneOf(node.op_type(), {"Conv", "Gemm"})) CheckShiftBias(node);
      if (OneOf(node.op_type(),
                {"Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "MaxPool", "AveragePool", "GlobalAveragePool"})) {
        CheckFusedActivation(node);
      }
      if (OneOf(node.op_type(), {"Add", "Sub"})) CheckShiftRead(node);
      if (OneOf(node.op_type(), {"Add", "Mul"})) CheckShiftWrite(node);
      if (IsDpuHardSigmoid(node)) CheckHardSigmoid(node);
      if (node.op_type() == "Mul" && IsSwish(node)) CheckShiftSwish(node);
      if (node.op_type() == "Concat") CheckConcat(node);
      if (OneOf(node.op_type(), {"MaxPool", "AveragePool", "GlobalAveragePool"})) CheckSamePosition(node, "AlignPool");
      if (node.op_type() == "Pad") CheckSamePosition(node, "AlignPad");
      if (node.op_type() == "Slice") CheckSamePosition(node, "AlignSlice");
    }
    return violations_;
  }

 private:
  static bool IsQdq(const NodeProto& node) {
    return node.op_type() == "QuantizeLinear" || node.op_type() == "DequantizeLinear";
  }

  static std::string Label(const NodeProto& node) {
    const std::string& name = node.name().empty() && node.output_size() > 0 ? node.output(0) : node.name();
    return node.op_type() + " '" + name + "'";
  }

  void Report(const std::string& rule, const std::string& what, const std::string& numbers) {
    violations_.push_back(rule + " " + what + ": " + numbers);
  }

  const TensorProto* Initializer(const std::string& name) const {
    const auto found = initializers_.find(name);
    return found == initializers_.end() ? nullptr : found->second;
  }

  const NodeProto* Producer(const std::string& tensor) const {
    const auto found = producers_.find(tensor);
    return found == producers_.end() ? nullptr : found->second;
  }

  std::vector<const NodeProto*> Consumers(const std::string& tensor) const {
    const auto found = consumers_.find(tensor);
    return found == consumers_.end() ? std::vector<const NodeProto*>{} : found->second;
  }

  // Scale and zero point of one Q/DQ node; each scale and each zero point is judged once.
  void CheckQdqParams(const NodeProto& node) {
    if (node.input_size() < 2) {
      Report("QdqParams", Label(node), "no scale");
      return;
    }
    const std::string& scale_name = node.input(1);
    const TensorProto* scale = Initializer(scale_name);
    if (checked_scales_.insert(scale_name).second) {
      const std::optional<std::vector<double>> values = scale != nullptr ? Values(*scale) : std::nullopt;
      if (!values || scale->data_type() != TensorProto::FLOAT) {
        Report("QdqParams", "scale '" + scale_name + "' of " + Label(node), "not a float initializer");
      } else if (values->size() != 1) {
        Report("PerTensor", "scale '" + scale_name + "' of " + Label(node), std::to_string(values->size()) + " values");
      } else {
        const auto value = static_cast<float>(values->front());
        if (!PosOfScale(value)) {
          std::ostringstream text;
          text.precision(9);
          text << value << " is not a power of two";
          Report("PowerOfTwoScale", "scale '" + scale_name + "' of " + Label(node), text.str());
        }
      }
    }

    const bool has_zero_point = node.input_size() > 2 && !node.input(2).empty();
    const std::string zero_point_name = has_zero_point ? node.input(2) : "";
    if (has_zero_point && !checked_zero_points_.insert(zero_point_name).second) return;
    int32_t type = TensorProto::UINT8;  // QuantizeLinear's default output
    std::vector<double> zero_points = {0.0};
    if (has_zero_point) {
      const TensorProto* zero_point = Initializer(zero_point_name);
      const std::optional<std::vector<double>> values = zero_point != nullptr ? Values(*zero_point) : std::nullopt;
      if (!values) {
        Report("QdqParams", "zero point '" + zero_point_name + "' of " + Label(node), "not an integer initializer");
        return;
      }
      type = zero_point->data_type();
      zero_points = *values;
    } else if (node.op_type() == "DequantizeLinear") {
      const TensorProto* data = Initializer(node.input(0));
      if (data != nullptr) type = data->data_type();
    }
    const std::string what = has_zero_point ? "zero point '" + zero_point_name + "' of " + Label(node)
                                            : "absent zero point of " + Label(node);
    if (zero_points.size() != 1) {
      Report("PerTensor", what, std::to_string(zero_points.size()) + " values");
      return;
    }
    const std::optional<double> expected = SymmetricZeroPoint(type);
    if (!expected) {
      Report("SymmetricZeroPoint", what, TypeName(type) + " is not a quantized type of the NPU");
    } else if (zero_points.front() != *expected) {
      Report("SymmetricZeroPoint", what,
             TypeName(type) + " " + std::to_string(static_cast<int64_t>(zero_points.front())) + ", expected " +
                 std::to_string(static_cast<int64_t>(*expected)));
    }
  }

  // -log2 of the Q/DQ node's scale when it is one power of two.
  std::optional<int> PosOf(const NodeProto& qdq) const {
    if (qdq.input_size() < 2) return std::nullopt;
    const TensorProto* scale = Initializer(qdq.input(1));
    if (scale == nullptr || scale->data_type() != TensorProto::FLOAT) return std::nullopt;
    const std::optional<std::vector<double>> values = Values(*scale);
    if (!values || values->size() != 1) return std::nullopt;
    return PosOfScale(static_cast<float>(values->front()));
  }

  // The position of the DequantizeLinear that produces `tensor`.
  std::optional<int> InputPos(const std::string& tensor) const {
    if (tensor.empty()) return std::nullopt;
    const NodeProto* producer = Producer(tensor);
    if (producer == nullptr || producer->op_type() != "DequantizeLinear") return std::nullopt;
    return PosOf(*producer);
  }

  std::optional<int> InputPos(const NodeProto& node, int k) const {
    if (k >= node.input_size()) return std::nullopt;
    return InputPos(node.input(k));
  }

  // The positions of all inputs; nullopt when one is missing.
  std::optional<std::vector<int>> InputPositions(const NodeProto& node) const {
    if (node.input_size() == 0) return std::nullopt;
    std::vector<int> positions;
    for (int k = 0; k < node.input_size(); ++k) {
      const std::optional<int> p = InputPos(node, k);
      if (!p) return std::nullopt;
      positions.push_back(*p);
    }
    return positions;
  }

  std::optional<int> QuantizedPos(const std::string& tensor) const {
    for (const NodeProto* consumer : Consumers(tensor)) {
      if (consumer->op_type() == "QuantizeLinear" && consumer->input(0) == tensor) return PosOf(*consumer);
    }
    return std::nullopt;
  }

  // A tensor that is a constant: an initializer, or the DequantizeLinear of one.
  bool IsConstant(const std::string& tensor) const {
    if (Initializer(tensor) != nullptr) return true;
    const NodeProto* producer = Producer(tensor);
    return producer != nullptr && (producer->op_type() == "Constant" || (producer->op_type() == "DequantizeLinear" &&
                                                                         Initializer(producer->input(0)) != nullptr));
  }

  // A Mul of `tensor` by a constant.
  bool IsConstantMul(const NodeProto& node, const std::string& tensor) const {
    if (node.op_type() != "Mul" || node.input_size() != 2) return false;
    return (node.input(0) == tensor && IsConstant(node.input(1))) ||
           (node.input(1) == tensor && IsConstant(node.input(0)));
  }

  std::optional<int> OutputPos(const NodeProto& node) const {
    if (node.output_size() == 0) return std::nullopt;
    const std::string& output = node.output(0);
    if (const std::optional<int> direct = QuantizedPos(output)) return direct;
    const std::vector<const NodeProto*> consumers = Consumers(output);
    if (consumers.size() != 1 || consumers[0]->output_size() == 0) return std::nullopt;
    const NodeProto& next = *consumers[0];
    const bool follows_correction =
        OneOf(node.op_type(), {"HardSigmoid", "AveragePool", "GlobalAveragePool"}) && IsConstantMul(next, output);
    if (IsFusedActivation(next.op_type()) || follows_correction) return QuantizedPos(next.output(0));
    return std::nullopt;
  }

  void CheckWeight(const NodeProto& node) {
    if (node.input_size() < 2 || node.input(1).empty()) return;
    const std::string& weight = node.input(1);
    const NodeProto* producer = Producer(weight);
    std::string problem;
    if (producer == nullptr || producer->op_type() != "DequantizeLinear") {
      problem = "not the output of a DequantizeLinear";
    } else if (const TensorProto* data = Initializer(producer->input(0)); data == nullptr) {
      problem = "dequantized from '" + producer->input(0) + "', which is not an initializer";
    } else if (data->data_type() != TensorProto::INT8) {
      problem = "dequantized from " + TypeName(data->data_type()) + " '" + data->name() + "', expected int8";
    }
    if (!problem.empty()) Report("Int8Weight", Label(node), "weight '" + weight + "' is " + problem);
  }

  void CheckBias(const NodeProto& node) {
    if (node.input_size() < 3 || node.input(2).empty()) return;
    const std::string& bias = node.input(2);
    const NodeProto* producer = Producer(bias);
    if (producer == nullptr || producer->op_type() != "DequantizeLinear") return;  // a float bias
    const int32_t expected = options_.int32_bias ? TensorProto::INT32 : TensorProto::INT8;
    const TensorProto* data = Initializer(producer->input(0));
    if (data == nullptr) {
      Report("BiasType", Label(node),
             "bias '" + bias + "' is dequantized from '" + producer->input(0) + "', which is not an initializer");
    } else if (data->data_type() != expected) {
      Report("BiasType", Label(node),
             "bias '" + bias + "' is dequantized from " + TypeName(data->data_type()) + " '" + data->name() +
                 "', expected " + TypeName(expected));
    }
  }

  void CheckFusedActivation(const NodeProto& node) {
    if (node.output_size() == 0) return;
    const std::vector<const NodeProto*> consumers = Consumers(node.output(0));
    if (consumers.size() != 1 || consumers[0]->op_type() != "QuantizeLinear") return;
    const NodeProto& quantize = *consumers[0];
    for (const NodeProto* dequantize : Consumers(quantize.output(0))) {
      if (dequantize->op_type() != "DequantizeLinear") continue;
      for (const NodeProto* activation : Consumers(dequantize->output(0))) {
        if (!IsFusedActivation(activation->op_type())) continue;
        Report("FusedActivation", Label(node),
               "QuantizeLinear '" + quantize.output(0) + "' and DequantizeLinear '" + dequantize->output(0) +
                   "' between it and " + Label(*activation));
      }
    }
  }

  void CheckShiftCut(const NodeProto& node) {
    const std::optional<int> i = InputPos(node, 0);
    const std::optional<int> w = InputPos(node, 1);
    const std::optional<int> o = OutputPos(node);
    if (!i || !w || !o) return;
    const int shift_cut = *w + *i - *o;
    if (shift_cut < 0 || shift_cut > 16) {
      Report("AdjustShiftCut", Label(node),
             "wpos " + std::to_string(*w) + " + ipos " + std::to_string(*i) + " - opos " + std::to_string(*o) + " = " +
                 std::to_string(shift_cut) + ", outside [0, 16]");
    }
  }

  bool FeedsLeakyRelu(const NodeProto& node) const {
    if (node.output_size() == 0) return false;
    const std::vector<const NodeProto*> consumers = Consumers(node.output(0));
    return std::any_of(consumers.begin(), consumers.end(),
                       [](const NodeProto* consumer) { return consumer->op_type() == "LeakyRelu"; });
  }

  void CheckShiftBias(const NodeProto& node) {
    const std::optional<int> i = InputPos(node, 0);
    const std::optional<int> w = InputPos(node, 1);
    const std::optional<int> b = InputPos(node, 2);
    const std::optional<int> o = OutputPos(node);
    if (!i || !w || !b || !o) return;
    const int shift_cut = *w + *i - *o;
    const int low = FeedsLeakyRelu(node) ? 0 : std::min(0, -(24 - (8 + shift_cut)));
    const int shift_bias = *w + *i - *b;
    if (shift_bias < low || shift_bias > 15) {
      Report("AdjustShiftBias", Label(node),
             "wpos " + std::to_string(*w) + " + ipos " + std::to_string(*i) + " - bpos " + std::to_string(*b) + " = " +
                 std::to_string(shift_bias) + ", outside [" + std::to_string(low) + ", 15] (shift_cut " +
                 std::to_string(shift_cut) + ")");
    }
  }

  void CheckShiftRead(const NodeProto& node) {
    const std::optional<std::vector<int>> inputs = InputPositions(node);
    if (!inputs) return;
    const auto [lowest, highest] = std::minmax_element(inputs->begin(), inputs->end());
    if (*highest - *lowest > 7) {
      Report("AdjustShiftRead", Label(node),
             "input positions " + Join(*inputs) + " are " + std::to_string(*highest - *lowest) + " apart, more than 7");
    }
  }

  void CheckShiftWrite(const NodeProto& node) {
    const std::optional<std::vector<int>> inputs = InputPositions(node);
    const std::optional<int> o = OutputPos(node);
    if (!inputs || !o) return;
    if (node.op_type() == "Add") {
      const int lowest = *std::min_element(inputs->begin(), inputs->end());
      const int shift = lowest - *o;
      if (shift < -7 || shift > 25) {
        Report("AdjustShiftWrite", Label(node),
               "min ipos " + std::to_string(lowest) + " - opos " + std::to_string(*o) + " = " + std::to_string(shift) +
                   ", outside [-7, 25]");
      }
      return;
    }
    int sum = 0;
    for (int p : *inputs) sum += p;
    const int shift = sum - *o;
    if (shift < 0 || shift > 32) {
      Report("AdjustShiftWrite", Label(node),
             "sum of ipos " + Join(*inputs) + " - opos " + std::to_string(*o) + " = " + std::to_string(shift) +
                 ", outside [0, 32]");
    }
  }

  void CheckHardSigmoid(const NodeProto& node) {
    const std::optional<int> i = InputPos(node, 0);
    const std::optional<int> o = OutputPos(node);
    if (!i || !o) return;
    if (*i < 0 || *i > 15) Report("AdjustHardSigmoid", Label(node), "ipos " + std::to_string(*i) + ", outside [0, 15]");
    if (*o < 7) Report("AdjustHardSigmoid", Label(node), "opos " + std::to_string(*o) + ", below 7");
    const int shift = 14 + *i - *o;
    if (shift < 0 || shift > 31) {
      Report("AdjustHardSigmoid", Label(node),
             "14 + ipos " + std::to_string(*i) + " - opos " + std::to_string(*o) + " = " + std::to_string(shift) +
                 ", outside [0, 31]");
    }
  }

  // The float tensor a Q/DQ pair carries: `tensor` with a DequantizeLinear and then a QuantizeLinear
  // before it stepped over.
  std::string Unquantized(std::string tensor) const {
    for (const char* op : {"DequantizeLinear", "QuantizeLinear"}) {
      const NodeProto* producer = Producer(tensor);
      if (producer != nullptr && producer->op_type() == op && producer->input_size() > 0) tensor = producer->input(0);
    }
    return tensor;
  }

  // The DPU HardSigmoid whose output (possibly times a constant) `tensor` carries, or null.
  const NodeProto* HardSigmoidBehind(const std::string& tensor) const {
    const NodeProto* producer = Producer(Unquantized(tensor));
    if (producer != nullptr && producer->op_type() == "Mul" && producer->input_size() == 2) {
      for (int k = 0; k < 2; ++k) {
        if (IsConstant(producer->input(1 - k))) {
          const NodeProto* inner = Producer(Unquantized(producer->input(k)));
          if (inner != nullptr && IsDpuHardSigmoid(*inner)) return inner;
        }
      }
      return nullptr;
    }
    return producer != nullptr && IsDpuHardSigmoid(*producer) ? producer : nullptr;
  }

  bool IsSwish(const NodeProto& node) const {
    if (node.input_size() != 2) return false;
    for (int k = 0; k < 2; ++k) {
      const NodeProto* sigmoid = HardSigmoidBehind(node.input(k));
      if (sigmoid != nullptr && sigmoid->input_size() > 0 &&
          Unquantized(sigmoid->input(0)) == Unquantized(node.input(1 - k))) {
        return true;
      }
    }
    return false;
  }

  void CheckShiftSwish(const NodeProto& node) {
    const std::optional<std::vector<int>> inputs = InputPositions(node);
    const std::optional<int> o = OutputPos(node);
    if (!inputs || !o) return;
    const int shift = (*inputs)[0] + (*inputs)[1] - *o;
    if (shift < 0 || shift > 15) {
      Report("AdjustShiftSwish", Label(node),
             "ipos " + std::to_string((*inputs)[0]) + " + ipos " + std::to_string((*inputs)[1]) + " - opos " +
                 std::to_string(*o) + " = " + std::to_string(shift) + ", outside [0, 15]");
    }
  }

  void CheckConcat(const NodeProto& node) {
    const std::optional<std::vector<int>> inputs = InputPositions(node);
    const std::optional<int> o = OutputPos(node);
    if (!inputs || !o) return;
    if (std::any_of(inputs->begin(), inputs->end(), [&](int p) { return p != *o; })) {
      Report("AlignConcat", Label(node),
             "input positions " + Join(*inputs) + " and output position " + std::to_string(*o) + " differ");
    }
  }

  void CheckSamePosition(const NodeProto& node, const std::string& rule) {
    const std::optional<int> i = InputPos(node, 0);
    const std::optional<int> o = OutputPos(node);
    if (!i || !o || *i == *o) return;
    Report(rule, Label(node), "ipos " + std::to_string(*i) + " != opos " + std::to_string(*o));
  }

  const onnx::GraphProto& graph_;
  NpuRuleCheckOptions options_;
  std::map<std::string, const TensorProto*> initializers_;
  std::map<std::string, const NodeProto*> producers_;
  std::map<std::string, std::vector<const NodeProto*>> consumers_;
  std::set<std::string> checked_scales_;
  std::set<std::string> checked_zero_points_;
  std::vector<std::string> violations_;
};

}  // namespace

std::vector<std::string> CheckNpuRules(const onnx::ModelProto& model, const NpuRuleCheckOptions& options) {
  return Checker(model.graph(), options).Run();
}

}  // namespace onnxq::testing
