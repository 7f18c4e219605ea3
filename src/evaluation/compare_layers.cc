// CompareLayers (onnxq/layer_report.h): finds the Q/DQ pairs of the quantized model, runs both models
// with the tensors to compare as graph outputs, and hands the values to the sums of algorithms/.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "algorithms/histogram.h"
#include "algorithms/layer_error.h"
#include "algorithms/sqnr.h"
#include "calibration/onnxruntime_backend.h"
#include "ir/tensor_util.h"
#include "onnxq/layer_report.h"

namespace onnxq {
namespace {

// Bins of the streaming histogram each activation keeps (bounded memory, exact under merging).
constexpr int kStreamingBins = 2048;

bool IsQuantize(const onnx::NodeProto& node) { return node.op_type() == "QuantizeLinear"; }
bool IsDequantize(const onnx::NodeProto& node) { return node.op_type() == "DequantizeLinear"; }

std::string NodeName(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + " #" + std::to_string(index) : node.name();
}

// Who writes and reads each tensor of a graph, and its initializers.
struct GraphIndex {
  std::map<std::string, int> producer;
  std::map<std::string, std::vector<int>> consumers;
  std::map<std::string, const onnx::TensorProto*> initializers;
  std::set<std::string> inputs;

  explicit GraphIndex(const onnx::GraphProto& graph) {
    for (const auto& initializer : graph.initializer()) initializers[initializer.name()] = &initializer;
    for (const auto& input : graph.input()) {
      if (!initializers.contains(input.name())) inputs.insert(input.name());
    }
    for (int i = 0; i < graph.node_size(); ++i) {
      for (const auto& output : graph.node(i).output()) {
        if (!output.empty()) producer.emplace(output, i);
      }
      for (const auto& input : graph.node(i).input()) {
        if (!input.empty()) consumers[input].push_back(i);
      }
    }
  }
  const onnx::TensorProto* Initializer(const std::string& name) const {
    const auto it = initializers.find(name);
    return it == initializers.end() ? nullptr : it->second;
  }
  // A tensor the graph computes or takes as an input (not a constant).
  bool Computes(const std::string& name) const { return producer.contains(name) || inputs.contains(name); }
  const std::vector<int>& ConsumersOf(const std::string& name) const {
    static const std::vector<int> kNone;
    const auto it = consumers.find(name);
    return it == consumers.end() ? kNone : it->second;
  }
};

// The integer range of a Q/DQ type, by the zero point's ONNX data type (uint8 without one).
struct QuantTypeInfo {
  std::string name;
  int64_t qmin = 0;
  int64_t qmax = 255;
};

std::optional<QuantTypeInfo> TypeOf(int32_t data_type) {
  switch (data_type) {
    case onnx::TensorProto::UINT8:
      return QuantTypeInfo{"uint8", 0, 255};
    case onnx::TensorProto::INT8:
      return QuantTypeInfo{"int8", -128, 127};
    case onnx::TensorProto::UINT16:
      return QuantTypeInfo{"uint16", 0, 65535};
    case onnx::TensorProto::INT16:
      return QuantTypeInfo{"int16", -32768, 32767};
    case onnx::TensorProto::INT32:
      return QuantTypeInfo{"int32", INT32_MIN, INT32_MAX};
    default:
      return std::nullopt;
  }
}

// Scales, zero points and type of a Q or DQ node whose parameters are initializers.
struct QdqParams {
  std::vector<float> scales;
  std::vector<int64_t> zero_points;  // empty: 0
  QuantTypeInfo type;
  int64_t axis = 1;
};

std::optional<QdqParams> ParamsOf(const onnx::NodeProto& node, const GraphIndex& index, int32_t data_type_if_no_zp) {
  if (node.input_size() < 2) return std::nullopt;
  const onnx::TensorProto* scale = index.Initializer(node.input(1));
  if (scale == nullptr) return std::nullopt;
  QdqParams params;
  auto scales = ToFloats(*scale);
  if (!scales.ok() || scales->empty()) return std::nullopt;
  params.scales = std::move(scales).value();
  int32_t data_type = data_type_if_no_zp;
  if (node.input_size() > 2 && !node.input(2).empty()) {
    const onnx::TensorProto* zp = index.Initializer(node.input(2));
    if (zp == nullptr) return std::nullopt;
    auto zero_points = ToInt64s(*zp);
    if (!zero_points.ok()) return std::nullopt;
    params.zero_points = std::move(zero_points).value();
    data_type = zp->data_type();
  }
  const auto type = TypeOf(data_type);
  if (!type) return std::nullopt;
  params.type = *type;
  for (const auto& attribute : node.attribute()) {
    if (attribute.name() == "axis") params.axis = attribute.i();
  }
  return params;
}

// One activation Q/DQ pair of the quantized model, and the float model's name for its tensor.
struct ActivationPair {
  std::string tensor;       // the float model's name
  std::string dequantized;  // the DQ output in the quantized model
  int quantize_node = -1;
  int dequantize_node = -1;
  QdqParams params;
};

struct Pairs {
  std::vector<ActivationPair> activations;
  std::vector<std::string> unmatched;
};

Pairs FindActivationPairs(const onnx::GraphProto& quantized, const GraphIndex& q_index, const GraphIndex& f_index) {
  Pairs pairs;
  std::set<std::string> seen;
  for (int i = 0; i < quantized.node_size(); ++i) {
    const onnx::NodeProto& q = quantized.node(i);
    if (!IsQuantize(q) || q.input_size() < 2 || q.output_size() < 1) continue;
    if (q_index.Initializer(q.input(0)) != nullptr || !q_index.Computes(q.input(0))) continue;  // a weight
    int dq = -1;
    for (const int c : q_index.ConsumersOf(q.output(0))) {
      if (IsDequantize(quantized.node(c)) && quantized.node(c).output_size() > 0) {
        dq = c;
        break;
      }
    }
    if (dq < 0) continue;
    const std::string& dq_output = quantized.node(dq).output(0);
    // The pair writes the float tensor's name itself when that tensor is a graph output.
    const std::string tensor =
        f_index.Computes(q.input(0)) ? q.input(0) : (f_index.Computes(dq_output) ? dq_output : std::string());
    if (tensor.empty()) {
      pairs.unmatched.push_back(q.input(0));
      continue;
    }
    if (!seen.insert(tensor).second) continue;
    auto params = ParamsOf(q, q_index, onnx::TensorProto::UINT8);
    if (!params || params->scales.size() != 1) {
      pairs.unmatched.push_back(q.input(0));
      continue;
    }
    pairs.activations.push_back(
        {.tensor = tensor, .dequantized = dq_output, .quantize_node = i, .dequantize_node = dq, .params = *params});
  }
  return pairs;
}

// The float model's initializer a quantized weight stands for: "W" for "W_quantized" or W itself,
// else the one the node of the same name reads at the same input in the float model.
const onnx::TensorProto* FloatWeightOf(const std::string& quantized_name, const std::string& dequantized,
                                       const onnx::GraphProto& quantized, const GraphIndex& q_index,
                                       const onnx::GraphProto& float_graph, const GraphIndex& f_index) {
  static constexpr std::string_view kSuffix = "_quantized";
  if (const auto* same = f_index.Initializer(quantized_name)) return same;
  if (quantized_name.ends_with(kSuffix)) {
    const std::string base = quantized_name.substr(0, quantized_name.size() - kSuffix.size());
    if (const auto* stripped = f_index.Initializer(base)) return stripped;
  }
  std::map<std::string, int> float_nodes;
  for (int i = 0; i < float_graph.node_size(); ++i) {
    if (!float_graph.node(i).name().empty()) float_nodes.emplace(float_graph.node(i).name(), i);
  }
  for (const int c : q_index.ConsumersOf(dequantized)) {
    const onnx::NodeProto& consumer = quantized.node(c);
    const auto it = float_nodes.find(consumer.name());
    if (consumer.name().empty() || it == float_nodes.end()) continue;
    const onnx::NodeProto& twin = float_graph.node(it->second);
    for (int k = 0; k < consumer.input_size() && k < twin.input_size(); ++k) {
      if (consumer.input(k) != dequantized) continue;
      if (const auto* found = f_index.Initializer(twin.input(k))) return found;
    }
  }
  return nullptr;
}

std::vector<WeightError> CompareWeights(const onnx::GraphProto& quantized, const GraphIndex& q_index,
                                        const onnx::GraphProto& float_graph, const GraphIndex& f_index) {
  std::vector<WeightError> weights;
  std::set<std::string> seen;
  for (int i = 0; i < quantized.node_size(); ++i) {
    const onnx::NodeProto& node = quantized.node(i);
    if (node.input_size() < 2 || node.output_size() < 1) continue;
    const onnx::TensorProto* source = q_index.Initializer(node.input(0));
    if (source == nullptr) continue;
    std::string dequantized;
    std::optional<QdqParams> params;
    std::vector<int64_t> codes;
    if (IsDequantize(node) && source->data_type() != onnx::TensorProto::FLOAT) {
      // An integer initializer read by a DequantizeLinear.
      params = ParamsOf(node, q_index, source->data_type());
      auto values = ToInt64s(*source);
      if (!params || !values.ok()) continue;
      codes = std::move(values).value();
      dequantized = node.output(0);
    } else if (IsQuantize(node) && source->data_type() == onnx::TensorProto::FLOAT) {
      // A float initializer through QuantizeLinear -> DequantizeLinear.
      params = ParamsOf(node, q_index, onnx::TensorProto::UINT8);
      auto values = ToFloats(*source);
      if (!params || !values.ok()) continue;
      codes = QuantizeCodes(*values, Dims(*source), params->scales, params->zero_points, params->axis,
                            params->type.qmin, params->type.qmax);
      for (const int c : q_index.ConsumersOf(node.output(0))) {
        if (IsDequantize(quantized.node(c))) dequantized = quantized.node(c).output(0);
      }
      if (dequantized.empty()) continue;
    } else {
      continue;
    }
    const onnx::TensorProto* reference =
        FloatWeightOf(node.input(0), dequantized, quantized, q_index, float_graph, f_index);
    if (reference == nullptr || Dims(*reference) != Dims(*source) || !seen.insert(reference->name()).second) continue;
    auto float_values = ToFloats(*reference);
    if (!float_values.ok()) continue;
    const std::vector<float> restored =
        DequantizeCodes(codes, Dims(*source), params->scales, params->zero_points, params->axis);
    if (restored.size() != float_values->size()) continue;
    SqnrSums sums;
    sums.Add(*float_values, restored);
    WeightError weight{.tensor = reference->name(),
                       .quant_type = params->type.name,
                       .channels = static_cast<int64_t>(params->scales.size()),
                       .axis = params->scales.size() > 1 ? params->axis : -1,
                       .sqnr_db = sums.SqnrDb(),
                       .cosine = sums.Cosine(),
                       .values = sums.values};
    const auto& consumers = q_index.ConsumersOf(dequantized);
    if (!consumers.empty()) {
      weight.consumer = NodeName(quantized.node(consumers.front()), consumers.front());
      weight.consumer_op = quantized.node(consumers.front()).op_type();
      weight.graph_index = consumers.front();
    }
    weights.push_back(std::move(weight));
  }
  return weights;
}

// A copy of `model` whose graph also outputs `tensors` (those it does not already).
onnx::ModelProto Exposing(const onnx::ModelProto& model, const std::vector<std::string>& tensors) {
  onnx::ModelProto exposed = model;
  std::set<std::string> outputs;
  for (const auto& output : exposed.graph().output()) outputs.insert(output.name());
  for (const auto& name : tensors) {
    if (outputs.insert(name).second) exposed.mutable_graph()->add_output()->set_name(name);  // type inferred
  }
  return exposed;
}

// Per activation, what the runs add up.
struct ActivationSums {
  SqnrSums sqnr;
  Histogram histogram{HistogramOptions{.max_bins = kStreamingBins}};
  ClipCounts clips;
  ValueRange range;
};

// Graph output name -> the sums of one model's outputs against the float model's.
using OutputSums = std::vector<std::pair<std::string, SqnrSums>>;

std::vector<OutputAccuracy> AccuracyOf(const OutputSums& sums) {
  std::vector<OutputAccuracy> outputs;
  for (const auto& [name, s] : sums) {
    outputs.push_back({.output = name, .sqnr_db = s.SqnrDb(), .cosine = s.Cosine(), .values = s.values});
  }
  return outputs;
}

// The float graph outputs of a run, by name.
std::map<std::string, std::vector<float>> FloatOutputs(const RunOutputs& run, const std::set<std::string>& names) {
  std::map<std::string, std::vector<float>> outputs;
  for (const auto& view : run.views()) {
    if (view.is_float && names.contains(view.name)) outputs[view.name].assign(view.data.begin(), view.data.end());
  }
  return outputs;
}

// The float model with only `pair` quantized: its Q and DQ nodes (parameters copied under fresh names)
// after the node computing the tensor, every reader of the tensor reading the DQ output instead. A
// graph output keeps its name on the dequantized value, as the quantizer does.
onnx::ModelProto WithOnePair(const onnx::ModelProto& float_model, const GraphIndex& f_index,
                             const onnx::ModelProto& quantized, const GraphIndex& q_index, const ActivationPair& pair) {
  onnx::ModelProto model = float_model;
  onnx::GraphProto& graph = *model.mutable_graph();
  const std::string prefix = pair.tensor + "_layer_report_";
  onnx::NodeProto q = quantized.graph().node(pair.quantize_node);
  onnx::NodeProto dq = quantized.graph().node(pair.dequantize_node);
  for (onnx::NodeProto* node : {&q, &dq}) {
    for (int k = 1; k < node->input_size(); ++k) {
      if (node->input(k).empty()) continue;
      const onnx::TensorProto* parameter = q_index.Initializer(node->input(k));
      if (parameter == nullptr) continue;
      onnx::TensorProto* copy = graph.add_initializer();
      *copy = *parameter;
      copy->set_name(prefix + (node == &q ? "q" : "dq") + std::to_string(k));
      node->set_input(k, copy->name());
    }
    node->set_name(prefix + node->op_type());
  }
  bool is_output = false;
  for (const auto& output : graph.output()) is_output = is_output || output.name() == pair.tensor;
  std::string source = pair.tensor;
  std::string dequantized = prefix + "dequantized";
  const auto producer = f_index.producer.find(pair.tensor);
  if (is_output && producer != f_index.producer.end()) {
    source = prefix + "source";
    dequantized = pair.tensor;
    for (auto& output : *graph.mutable_node(producer->second)->mutable_output()) {
      if (output == pair.tensor) output = source;
    }
  }
  for (auto& node : *graph.mutable_node()) {
    for (auto& input : *node.mutable_input()) {
      if (input == pair.tensor) input = dequantized;
    }
  }
  q.set_input(0, source);
  q.set_output(0, prefix + "quantized");
  dq.set_input(0, q.output(0));
  dq.set_output(0, dequantized);
  // Right after the producer (first for a graph input), so that the nodes stay in topological order.
  const int at = producer == f_index.producer.end() ? 0 : producer->second + 1;
  auto* nodes = graph.mutable_node();
  *nodes->Add() = std::move(q);
  *nodes->Add() = std::move(dq);
  for (int i = nodes->size() - 2; i > at; --i) nodes->SwapElements(i, i - 1);
  for (int i = nodes->size() - 1; i > at + 1; --i) nodes->SwapElements(i, i - 1);
  // Q/DQ of another domain (com.microsoft for 16 bits) need its opset import.
  for (const auto& import : quantized.opset_import()) {
    if (import.domain().empty()) continue;
    bool present = false;
    for (const auto& mine : model.opset_import()) present = present || mine.domain() == import.domain();
    if (!present) *model.add_opset_import() = import;
  }
  return model;
}

// The float values of a run's outputs and of its float feeds, by name (views into both).
std::map<std::string, std::span<const float>> ValuesByName(const RunOutputs& run, const Feeds& feeds) {
  std::map<std::string, std::span<const float>> values;
  for (const Tensor& feed : feeds) {
    if (feed.type == ElementType::kFloat) values[feed.name] = feed.floats();
  }
  for (const auto& view : run.views()) {
    if (view.is_float) values[view.name] = view.data;
  }
  return values;
}

// For a quantized tensor with more values per sample than its float twin (a depthwise chain padded
// with channels, as PadDepthwiseChannels does): each sample's leading values, its first channels in
// NCHW order, `float_size` in all. Empty when the sizes do not fit that.
std::vector<float> LeadingValues(std::span<const float> quantized, size_t float_size, int64_t samples) {
  const auto n = static_cast<size_t>(std::max<int64_t>(samples, 1));
  if (quantized.size() < float_size || quantized.size() % n != 0 || float_size % n != 0) return {};
  const size_t per_quantized = quantized.size() / n;
  const size_t per_float = float_size / n;
  std::vector<float> leading;
  leading.reserve(float_size);
  for (size_t i = 0; i < n; ++i) {
    const auto begin = quantized.begin() + static_cast<std::ptrdiff_t>(i * per_quantized);
    leading.insert(leading.end(), begin, begin + static_cast<std::ptrdiff_t>(per_float));
  }
  return leading;
}

// Adds `run`'s float graph outputs, against the reference's of the same batch, to `sums`.
void AddOutputs(const RunOutputs& run, const std::map<std::string, std::vector<float>>& reference, OutputSums& sums) {
  for (auto& [name, s] : sums) {
    const auto it = reference.find(name);
    if (it == reference.end()) continue;
    for (const auto& view : run.views()) {
      if (view.name == name && view.is_float) s.Add(it->second, view.data);
    }
  }
}

double WorstSqnr(const OutputSums& sums) {
  double worst = std::numeric_limits<double>::infinity();
  for (const auto& [name, s] : sums) worst = std::min(worst, s.SqnrDb());
  return worst;
}

// NaN first, then ascending.
bool WorseSqnr(double a, double b) {
  if (std::isnan(a) != std::isnan(b)) return std::isnan(a);
  return a < b;
}

}  // namespace

Result<LayerReport> CompareLayers(const onnx::ModelProto& float_model, const onnx::ModelProto& quantized_model,
                                  CalibrationDataReader& data, const LayerReportOptions& options,
                                  const ProgressCallback& progress) {
  if (options.max_samples < 1) return InvalidArgument("the layer report needs at least 1 sample (max_samples)");
  if (options.histogram_bins < 1) return InvalidArgument("the layer report needs at least 1 histogram bin");
  const GraphIndex f_index(float_model.graph());
  const GraphIndex q_index(quantized_model.graph());
  Pairs pairs = FindActivationPairs(quantized_model.graph(), q_index, f_index);
  if (pairs.activations.empty()) {
    return InvalidModel(
        "the quantized model has no QuantizeLinear -> DequantizeLinear pair on a tensor the float model computes: "
        "give the QDQ model quantized from this float model");
  }
  LayerReport report;
  report.unmatched = std::move(pairs.unmatched);
  report.weights = CompareWeights(quantized_model.graph(), q_index, float_model.graph(), f_index);

  // The float graph outputs both models have.
  std::set<std::string> output_names;
  std::set<std::string> quantized_outputs;
  for (const auto& output : quantized_model.graph().output()) quantized_outputs.insert(output.name());
  for (const auto& output : float_model.graph().output()) {
    if (quantized_outputs.contains(output.name())) output_names.insert(output.name());
  }
  std::vector<std::string> float_names;
  std::vector<std::string> quantized_names;
  for (const auto& pair : pairs.activations) {
    float_names.push_back(pair.tensor);
    quantized_names.push_back(pair.dequantized);
  }
  // Each name once (the runtime refuses a name fetched twice); a float graph input comes from the feeds.
  const auto unique = [&f_index](const std::vector<std::string>& names, const std::set<std::string>& more) {
    std::vector<std::string> fetch;
    std::set<std::string> seen;
    for (const auto& name : names) {
      if (!f_index.inputs.contains(name) && seen.insert(name).second) fetch.push_back(name);
    }
    for (const auto& name : more) {
      if (seen.insert(name).second) fetch.push_back(name);
    }
    return fetch;
  };
  const std::vector<std::string> float_fetch = unique(float_names, output_names);
  const std::vector<std::string> quantized_fetch = unique(quantized_names, output_names);
  const InferenceBackend& backend = OnnxRuntimeBackend();
  ONNXQ_ASSIGN_OR_RETURN(auto float_session, backend.CreateSession(Exposing(float_model, float_names), {}));
  ONNXQ_ASSIGN_OR_RETURN(auto quantized_session, backend.CreateSession(Exposing(quantized_model, quantized_names), {}));

  std::vector<ActivationSums> sums(pairs.activations.size());
  for (size_t i = 0; i < sums.size(); ++i) {
    const QdqParams& p = pairs.activations[i].params;
    sums[i].range =
        DequantizedRange(p.type.qmin, p.type.qmax, p.scales[0], p.zero_points.empty() ? 0 : p.zero_points[0]);
  }
  OutputSums output_sums;
  for (const auto& name : output_names) output_sums.emplace_back(name, SqnrSums{});
  // Kept for the sensitivity runs: the inputs and the float model's outputs on them.
  std::vector<Feeds> batches;
  std::vector<std::map<std::string, std::vector<float>>> references;
  while (report.samples < options.max_samples) {
    ONNXQ_ASSIGN_OR_RETURN(std::optional<Feeds> batch, data.GetNext());
    if (!batch) break;
    ONNXQ_ASSIGN_OR_RETURN(const RunOutputs float_run, float_session->Run(*batch, float_fetch));
    ONNXQ_ASSIGN_OR_RETURN(const RunOutputs quantized_run, quantized_session->Run(*batch, quantized_fetch));
    const auto float_values = ValuesByName(float_run, *batch);
    const auto quantized_values = ValuesByName(quantized_run, *batch);
    for (size_t i = 0; i < sums.size(); ++i) {
      const auto f = float_values.find(float_names[i]);
      const auto q = quantized_values.find(quantized_names[i]);
      if (f == float_values.end() || q == quantized_values.end()) continue;
      std::span<const float> quantized = q->second;
      std::vector<float> leading;  // only for a padded tensor: the others are compared in place
      if (quantized.size() != f->second.size()) {
        leading = LeadingValues(quantized, f->second.size(), SamplesIn(*batch));
        if (leading.size() != f->second.size()) continue;
        quantized = leading;
      }
      sums[i].sqnr.Add(f->second, quantized);
      sums[i].histogram.Add(f->second);
      sums[i].clips.Add(f->second, sums[i].range);
    }
    auto reference = FloatOutputs(float_run, output_names);
    AddOutputs(quantized_run, reference, output_sums);
    report.samples += SamplesIn(*batch);
    if (options.sensitivity > 0) {
      references.push_back(std::move(reference));
      batches.push_back(std::move(*batch));
    }
    if (progress) progress("compare", std::min(report.samples, options.max_samples), options.max_samples);
  }
  if (report.samples == 0) return InvalidArgument("the layer report got no sample from the data");
  report.outputs = AccuracyOf(output_sums);

  std::vector<size_t> order(pairs.activations.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const ActivationPair& pair = pairs.activations[i];
    const ActivationSums& s = sums[i];
    ActivationError error{.tensor = pair.tensor,
                          .quant_type = pair.params.type.name,
                          .scale = pair.params.scales[0],
                          .zero_point = pair.params.zero_points.empty() ? 0 : pair.params.zero_points[0],
                          .range_min = s.range.rmin,
                          .range_max = s.range.rmax,
                          .sqnr_db = s.sqnr.SqnrDb(),
                          .cosine = s.sqnr.Cosine(),
                          .values = s.sqnr.values,
                          .min = s.histogram.min(),
                          .max = s.histogram.max(),
                          .clipped = s.clips.clipped(),
                          .clipped_fraction = s.clips.Fraction()};
    const auto producer = f_index.producer.find(pair.tensor);
    if (producer != f_index.producer.end()) {
      const onnx::NodeProto& node = float_model.graph().node(producer->second);
      error.producer = NodeName(node, producer->second);
      error.producer_op = node.op_type();
      error.graph_index = producer->second;
    } else {
      error.producer_op = "input";
    }
    const double lo = std::min(static_cast<double>(error.min), error.range_min);
    const double hi = std::max(static_cast<double>(error.max), error.range_max);
    const BinnedValues binned = Rebin(s.histogram, lo, hi, options.histogram_bins);
    error.histogram = {.lo = binned.lo, .hi = binned.hi, .counts = binned.counts};
    report.activations.push_back(std::move(error));
    order[i] = i;
  }
  std::ranges::stable_sort(order, [&](size_t a, size_t b) {
    return WorseSqnr(report.activations[a].sqnr_db, report.activations[b].sqnr_db);
  });

  // Sensitivity of the worst activations, each alone in the float model.
  const size_t count = std::min(order.size(), static_cast<size_t>(std::max(options.sensitivity, 0)));
  for (size_t n = 0; n < count; ++n) {
    const size_t i = order[n];
    const onnx::ModelProto single = WithOnePair(float_model, f_index, quantized_model, q_index, pairs.activations[i]);
    ONNXQ_ASSIGN_OR_RETURN(auto session, backend.CreateSession(single, {}));
    OutputSums single_sums;
    for (const auto& name : output_names) single_sums.emplace_back(name, SqnrSums{});
    const std::vector<std::string> fetch(output_names.begin(), output_names.end());
    for (size_t b = 0; b < batches.size(); ++b) {
      ONNXQ_ASSIGN_OR_RETURN(const RunOutputs run, session->Run(batches[b], fetch));
      AddOutputs(run, references[b], single_sums);
    }
    report.activations[i].sensitivity_db = WorstSqnr(single_sums);
    if (progress) progress("sensitivity", static_cast<int64_t>(n + 1), static_cast<int64_t>(count));
  }

  std::vector<ActivationError> sorted;
  sorted.reserve(order.size());
  for (const size_t i : order) sorted.push_back(std::move(report.activations[i]));
  report.activations = std::move(sorted);
  // The int32 biases last: the bias correction folded into them moves them off the float ones.
  std::ranges::stable_sort(report.weights, [](const WeightError& a, const WeightError& b) {
    const bool a_bias = a.quant_type == "int32";
    const bool b_bias = b.quant_type == "int32";
    return a_bias != b_bias ? b_bias : WorseSqnr(a.sqnr_db, b.sqnr_db);
  });
  return report;
}

}  // namespace onnxq
