#include "quantizer/correct_bias.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <thread>

#include "algorithms/bias_correction.h"
#include "calibration/parallel_batches.h"
#include "calibration/split_batch.h"
#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

bool IsLayer(const onnx::NodeProto& node) {
  return IsDefaultDomain(node) &&
         (node.op_type() == "Conv" || node.op_type() == "ConvTranspose" || node.op_type() == "Gemm");
}

std::vector<int> LayerNodes(const onnx::GraphProto& graph) {
  std::vector<int> layers;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (IsLayer(graph.node(i))) layers.push_back(i);
  }
  return layers;
}

// A DequantizeLinear node producing `tensor` from an initializer: its index, or -1.
int DequantizeOfInitializer(const GraphView& view, const std::string& tensor) {
  const int producer = view.Producer(tensor);
  if (producer < 0) return -1;
  const auto& node = view.graph().node(producer);
  if (node.op_type() != "DequantizeLinear" || !IsDefaultDomain(node) || node.input_size() < 2 ||
      !view.IsInitializer(node.input(0)) || !view.IsInitializer(node.input(1))) {
    return -1;
  }
  return producer;
}

enum class BiasKind { kQuantized, kFloat, kMissing };

// Where a layer's corrected bias goes.
struct BiasSite {
  BiasKind kind = BiasKind::kMissing;
  std::string values;            // kQuantized: the int32 initializer; kFloat: the float initializer
  std::string scale;             // kQuantized
  std::string zero_point;        // kQuantized, may be empty
  std::vector<float> new_scale;  // kMissing: input scale x weight scale (one or per channel)
};

struct Target {
  int node = -1;  // in the quantized model
  int64_t channels = 0;
  std::string weight;  // float weight (an initializer of the float model)
  std::string output;  // the layer's output in the quantized model
  BiasSite bias;
};

std::optional<std::vector<float>> FloatValues(const GraphView& view, const std::string& name) {
  const auto* init = view.Initializer(name);
  if (init == nullptr) return std::nullopt;
  auto values = ToFloats(*init);
  if (!values.ok()) return std::nullopt;
  return std::move(values).value();
}

// The site of a layer's existing bias `bias`: a float initializer, or an int32 initializer read through
// DequantizeLinear, read by this layer alone and one value per channel; else nullopt and the reason.
std::optional<BiasSite> ExistingBiasSite(const GraphView& view, int index, const std::string& bias, int64_t channels,
                                         std::string& reason) {
  const std::set<std::string> none;
  BiasSite site;
  if (view.IsInitializer(bias)) {
    if (view.Initializer(bias)->data_type() != onnx::TensorProto::FLOAT || !ReadOnlyBy(view, bias, index, none) ||
        ElementCount(*view.Initializer(bias)) != channels) {
      reason = "its float bias is shared or not one value per channel";
      return std::nullopt;
    }
    site.kind = BiasKind::kFloat;
    site.values = bias;
    return site;
  }
  const int dq = DequantizeOfInitializer(view, bias);
  if (dq < 0 || !ReadOnlyBy(view, bias, index, none)) {
    reason = "its bias is not a DequantizeLinear of an initializer read by this layer alone";
    return std::nullopt;
  }
  const auto& dq_node = view.graph().node(dq);
  const auto* q = view.Initializer(dq_node.input(0));
  if (q->data_type() != onnx::TensorProto::INT32 || ElementCount(*q) != channels ||
      !ReadOnlyBy(view, dq_node.input(0), dq, none)) {
    reason = "its quantized bias is not an int32 initializer of its own";
    return std::nullopt;
  }
  site.kind = BiasKind::kQuantized;
  site.values = dq_node.input(0);
  site.scale = dq_node.input(1);
  site.zero_point = dq_node.input_size() > 2 ? dq_node.input(2) : std::string();
  return site;
}

// The site of a new bias for layer `node`, which has none: int32 with scale = input scale x weight
// scale, when both are known; else nullopt and the reason.
std::optional<BiasSite> NewBiasSite(const GraphView& view, const onnx::NodeProto& node, int64_t channels,
                                    std::string& reason) {
  const int x_dq = DequantizeOfInitializer(view, node.input(0));
  const int w_dq = DequantizeOfInitializer(view, node.input(1));
  const int x_producer = view.Producer(node.input(0));
  std::optional<std::vector<float>> x_scale;
  if (x_dq >= 0) {
    x_scale = FloatValues(view, view.graph().node(x_dq).input(1));
  } else if (x_producer >= 0 && view.graph().node(x_producer).op_type() == "DequantizeLinear") {
    x_scale = FloatValues(view, view.graph().node(x_producer).input(1));
  }
  const auto w_scale = w_dq >= 0 ? FloatValues(view, view.graph().node(w_dq).input(1)) : std::nullopt;
  if (!x_scale || x_scale->size() != 1 || !w_scale ||
      (w_scale->size() != 1 && static_cast<int64_t>(w_scale->size()) != channels)) {
    reason = "it has no bias and its input or weight scale is unknown";
    return std::nullopt;
  }
  BiasSite site;
  site.kind = BiasKind::kMissing;
  for (const float s : *w_scale) site.new_scale.push_back((*x_scale)[0] * s);
  return site;
}

// The bias site of quantized layer `index`, or the reason there is none.
std::optional<BiasSite> FindBiasSite(const GraphView& view, int index, int64_t channels, std::string& reason) {
  const auto& node = view.graph().node(index);
  if (node.input_size() > 2 && !node.input(2).empty()) {
    return ExistingBiasSite(view, index, node.input(2), channels, reason);
  }
  return NewBiasSite(view, node, channels, reason);
}

// The quantized model with a float twin beside every target layer and both outputs exposed. Returns
// the output names to fetch, twin first, per target.
onnx::ModelProto MeasuringModel(const onnx::ModelProto& quantized, const GraphView& float_view,
                                const std::vector<Target>& targets, std::vector<std::string>& fetch) {
  onnx::ModelProto model = quantized;
  onnx::GraphProto& graph = *model.mutable_graph();
  GraphView view(&graph);
  std::set<std::string> outputs;
  for (const auto& out : graph.output()) outputs.insert(out.name());
  for (const auto& target : targets) {
    onnx::NodeProto twin = graph.node(target.node);
    const std::string weight = view.UniqueName(target.output + "_float_weight");
    onnx::TensorProto init = *float_view.Initializer(target.weight);
    init.set_name(weight);
    *graph.add_initializer() = std::move(init);
    twin.set_input(1, weight);
    twin.set_name(view.UniqueName(twin.name() + "_float_twin"));
    twin.set_output(0, view.UniqueName(target.output + "_float_twin"));
    fetch.push_back(twin.output(0));
    fetch.push_back(target.output);
    for (const auto& name : {twin.output(0), target.output}) {
      if (outputs.insert(name).second) graph.add_output()->set_name(name);
    }
    *graph.add_node() = std::move(twin);
  }
  return model;
}

// A float bias plus `delta`.
Status CorrectFloatBias(GraphView& view, const BiasSite& site, const std::vector<float>& delta) {
  auto bias = FloatValues(view, site.values);
  if (!bias) return Internal("bias '" + site.values + "' vanished");
  for (size_t o = 0; o < bias->size(); ++o) (*bias)[o] += delta[o];
  *view.MutableInitializer(site.values) = MakeFloatTensor(site.values, Dims(*view.Initializer(site.values)), *bias);
  return Status::Ok();
}

// An int32 bias plus `delta`, requantized with its own scale and zero point.
Status CorrectQuantizedBias(GraphView& view, const BiasSite& site, const std::vector<float>& delta) {
  const auto* q_init = view.Initializer(site.values);
  ONNXQ_ASSIGN_OR_RETURN(const auto q, ToInt64s(*q_init));
  const auto scale = FloatValues(view, site.scale);
  std::vector<int64_t> zero_point;
  if (!site.zero_point.empty() && view.IsInitializer(site.zero_point)) {
    ONNXQ_ASSIGN_OR_RETURN(zero_point, ToInt64s(*view.Initializer(site.zero_point)));
  }
  if (!scale || (scale->size() != 1 && scale->size() != q.size())) {
    return Internal("bias scale '" + site.scale + "' does not fit its bias");
  }
  std::vector<float> bias = DequantizeInt32(q, *scale, zero_point);
  for (size_t o = 0; o < bias.size(); ++o) bias[o] += delta[o];
  *view.MutableInitializer(site.values) =
      MakeIntTensor(site.values, onnx::TensorProto::INT32, Dims(*q_init), QuantizeInt32(bias, *scale, zero_point));
  return Status::Ok();
}

// A new int32 bias of `delta` read through a new DequantizeLinear (axis 0 when per channel).
void AddCorrectionBias(GraphView& view, const Target& target, const std::vector<float>& delta) {
  auto& node = *view.graph().mutable_node(target.node);
  const BiasSite& site = target.bias;
  const int64_t channels = target.channels;
  const std::string base = node.name().empty() ? target.output : node.name();
  const std::string q_name = view.UniqueName(base + "_bias_quantized");
  const std::string scale_name = view.UniqueName(base + "_bias_scale");
  const std::string zp_name = view.UniqueName(base + "_bias_zero_point");
  const std::string dq_output = view.UniqueName(base + "_bias_DequantizeLinear_Output");
  const bool per_channel = site.new_scale.size() > 1;
  std::vector<int64_t> scale_dims;
  if (per_channel) scale_dims.push_back(channels);
  const std::vector<int64_t> zeros(site.new_scale.size(), 0);
  *view.graph().add_initializer() = MakeIntTensor(q_name, onnx::TensorProto::INT32, std::vector<int64_t>{channels},
                                                  QuantizeInt32(delta, site.new_scale, zeros));
  *view.graph().add_initializer() = MakeFloatTensor(scale_name, scale_dims, site.new_scale);
  *view.graph().add_initializer() = MakeIntTensor(zp_name, onnx::TensorProto::INT32, scale_dims, zeros);
  while (node.input_size() < 3) node.add_input("");
  node.set_input(2, dq_output);
  onnx::NodeProto dq;
  dq.set_op_type("DequantizeLinear");
  dq.set_name(view.UniqueName(base + "_bias_DequantizeLinear"));
  dq.add_input(q_name);
  dq.add_input(scale_name);
  dq.add_input(zp_name);
  dq.add_output(dq_output);
  if (per_channel) {
    auto* axis = dq.add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(0);
  }
  // Insert before the layer so the node list stays topologically sorted.
  auto* nodes = view.graph().mutable_node();
  *nodes->Add() = std::move(dq);
  for (int i = nodes->size() - 1; i > target.node; --i) nodes->SwapElements(i, i - 1);
}

Status ApplyCorrection(GraphView& view, const Target& target, const std::vector<float>& delta) {
  if (target.bias.kind == BiasKind::kFloat) return CorrectFloatBias(view, target.bias, delta);
  if (target.bias.kind == BiasKind::kQuantized) return CorrectQuantizedBias(view, target.bias, delta);
  AddCorrectionBias(view, target, delta);
  return Status::Ok();
}

// The layers to correct, matched between the two models by position, with the reasons the others
// are skipped counted in `skipped`.
Result<std::vector<Target>> FindTargets(const GraphView& float_view, const GraphView& view,
                                        std::map<std::string, int64_t>& skipped) {
  const std::vector<int> float_layers = LayerNodes(float_view.graph());
  const std::vector<int> layers = LayerNodes(view.graph());
  if (float_layers.size() != layers.size()) {
    return Internal("bias correction: the float model has " + std::to_string(float_layers.size()) +
                    " Conv / ConvTranspose / Gemm nodes, the quantized one " + std::to_string(layers.size()));
  }
  std::vector<Target> targets;
  for (size_t k = 0; k < layers.size(); ++k) {
    const auto& node = view.graph().node(layers[k]);
    const auto& float_node = float_view.graph().node(float_layers[k]);
    if (node.op_type() != float_node.op_type() || node.name() != float_node.name()) {
      return Internal("bias correction: layer " + Describe(node, layers[k]) + " does not match float " +
                      Describe(float_node, float_layers[k]));
    }
    if (node.input_size() < 2 || DequantizeOfInitializer(view, node.input(1)) < 0) {
      ++skipped["weight not quantized"];
      continue;
    }
    const auto weight = ReadFloatInitializer(float_view, float_node.input(1));
    const auto layout = weight ? LayoutOf(float_node, weight->dims) : std::nullopt;
    if (!layout) {
      ++skipped["float weight is not a float32 initializer"];
      continue;
    }
    const int64_t channels = layout->out_channels;
    std::string reason;
    auto site = FindBiasSite(view, layers[k], channels, reason);
    if (!site) {
      ++skipped[reason];
      continue;
    }
    targets.push_back({.node = layers[k],
                       .channels = channels,
                       .weight = weight->name,
                       .output = node.output(0),
                       .bias = std::move(*site)});
  }
  return targets;
}

// The mean output shift of every target over the data, and the samples it was measured on.
struct MeasuredShifts {
  std::vector<std::vector<float>> deltas;  // per target, per output channel
  int64_t samples = 0;
};

// Runs `measuring` (MeasuringModel) over the reader's batches on several workers, each summing the
// difference between every target's float twin and the layer itself into sums of its own, merged at
// the end (sums merge exactly in any order, up to float rounding).
Result<MeasuredShifts> MeasureShifts(const InferenceBackend& backend, const onnx::ModelProto& measuring,
                                     const std::vector<std::string>& fetch, const GraphView& view,
                                     const std::vector<Target>& targets, CalibrationDataReader& reader,
                                     const BiasCorrectionOptions& options) {
  const int workers =
      options.threads > 0 ? options.threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  // Workers share one session, each run single-threaded.
  ONNXQ_ASSIGN_OR_RETURN(auto session, backend.CreateSession(measuring, {.intra_op_threads = workers > 1 ? 1 : 0,
                                                                         .allow_spinning = false}));
  const int64_t model_batch =
      session->inputs().empty() || session->inputs()[0].shape.empty() ? int64_t{-1} : session->inputs()[0].shape[0];
  std::vector<std::vector<ChannelMeanDifference>> sums(static_cast<size_t>(workers));
  for (auto& mine : sums) {
    for (const auto& target : targets) mine.emplace_back(target.channels);
  }
  const auto work = [&](size_t worker, TakenBatch batch) -> Result<int64_t> {
    ONNXQ_ASSIGN_OR_RETURN(std::vector<Feeds> pieces, SplitBatch(std::move(batch.feeds), model_batch));
    int64_t done = 0;
    for (const Feeds& feeds : pieces) {
      // A reader batch that goes past max_samples is used up to the piece that reaches it.
      if (options.max_samples >= 0 && batch.first_sample + done >= options.max_samples) break;
      ONNXQ_ASSIGN_OR_RETURN(const RunOutputs run, session->Run(feeds, fetch));
      for (size_t t = 0; t < targets.size(); ++t) {
        const OutputView& twin = run[2 * t];
        const OutputView& actual = run[2 * t + 1];
        if (!twin.is_float || !actual.is_float || twin.shape != actual.shape ||
            !sums[worker][t].Add(twin.data, actual.data, actual.shape)) {
          return Internal("bias correction: unexpected output of " +
                          Describe(view.graph().node(targets[t].node), targets[t].node));
        }
      }
      done += SamplesIn(feeds);
    }
    return done;
  };
  ParallelBatches batches([&] { return reader.GetNext(); }, {.max_samples = options.max_samples});
  ONNXQ_RETURN_IF_ERROR(batches.Run(workers, work));
  if (batches.samples_done() == 0) {
    return InvalidArgument("bias correction: the calibration data reader produced no samples");
  }
  MeasuredShifts shifts{.samples = batches.samples_done()};
  for (size_t t = 0; t < targets.size(); ++t) {
    for (size_t w = 1; w < sums.size(); ++w) sums[0][t].Merge(sums[w][t]);
    shifts.deltas.push_back(sums[0][t].Mean());
  }
  return shifts;
}

}  // namespace

Result<PassReport> CorrectBias(const InferenceBackend& backend, const onnx::ModelProto& float_model,
                               onnx::ModelProto& quantized, CalibrationDataReader& reader,
                               const BiasCorrectionOptions& options) {
  onnx::ModelProto float_copy = float_model;
  GraphView float_view(float_copy.mutable_graph());
  GraphView view(quantized.mutable_graph());
  PassReport report;
  std::map<std::string, int64_t> skipped;
  ONNXQ_ASSIGN_OR_RETURN(const std::vector<Target> targets, FindTargets(float_view, view, skipped));
  for (const auto& [reason, count] : skipped) {
    report.notes.push_back(std::to_string(count) + " layers not corrected: " + reason);
  }
  if (targets.empty()) return report;

  std::vector<std::string> fetch;
  const onnx::ModelProto measuring = MeasuringModel(quantized, float_view, targets, fetch);
  ONNXQ_ASSIGN_OR_RETURN(const MeasuredShifts shifts,
                         MeasureShifts(backend, measuring, fetch, view, targets, reader, options));

  // Apply from the last layer back: a new bias DequantizeLinear shifts only later node indices.
  double largest = 0.0;
  for (size_t t = targets.size(); t-- > 0;) {
    const std::vector<float>& delta = shifts.deltas[t];
    for (const float d : delta) largest = std::max(largest, std::fabs(static_cast<double>(d)));
    ONNXQ_RETURN_IF_ERROR(ApplyCorrection(view, targets[t], delta));
    view.Rebuild();
    ++report.changes;
  }
  report.notes.insert(report.notes.begin(), std::to_string(report.changes) + " layer biases corrected over " +
                                                std::to_string(shifts.samples) + " samples (largest shift " +
                                                std::to_string(largest) + ")");
  return report;
}

}  // namespace onnxq
