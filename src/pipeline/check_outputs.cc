#include "pipeline/check_outputs.h"

#include <cmath>
#include <cstdio>

#include "algorithms/sqnr.h"
#include "calibration/calibrator.h"
#include "calibration/inference_backend.h"
#include "calibration/random_data_reader.h"
#include "calibration/split_batch.h"
#include "quantizer/mark_nodes.h"

namespace onnxq {
namespace {

// The default sample count, the inputs they may hold together (a 224 x 224 RGB image takes 0.6 MiB),
// and the samples taken whatever their size (a 1024 x 1024 RGB image takes 12 MiB). One sample is too
// few: IS-Net's main output measures 11.2 dB on the first, 8.2 dB on the first two (and 9.0 dB on 20
// held-out samples).
constexpr int64_t kDefaultSamples = 8;
constexpr int64_t kDefaultInputBytes = int64_t{4} << 20;
constexpr int64_t kDefaultMinSamples = 2;

// Runs leave their threads idle, not spinning: the pipeline goes on beside and between them. A few
// runs gain nothing from the runtime's memory pattern (one block planned for every tensor of a run),
// which doubles the peak of large runs (IS-Net at 1024 x 1024: 2.2 GB with it, 1.3 GB without).
const SessionOptions kSessionOptions{.allow_spinning = false, .memory_pattern = false};

// The runs of `reference` cut into the session's fixed batch, if its first input has one.
Result<std::vector<Feeds>> Runs(const ReferenceRuns& reference, const InferenceSession& session) {
  const auto& inputs = session.inputs();
  const int64_t model_batch = inputs.empty() || inputs[0].shape.empty() ? int64_t{-1} : inputs[0].shape[0];
  std::vector<Feeds> runs;
  for (const ReferenceRun& run : reference.runs) {
    ONNXQ_ASSIGN_OR_RETURN(auto pieces, SplitBatch(run.feeds, model_batch));
    for (auto& piece : pieces) runs.push_back(std::move(piece));
  }
  return runs;
}

std::string FormatNumber(const char* format, double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char text[32];
  std::snprintf(text, sizeof(text), format, x);
  return text;
}

// "output 'Y': SQNR 6.0 dB (cosine 0.8813) against the float model on 8 calibration samples, below
// 10 dB ...; try ..." with what the options leave to try.
std::string LowSqnrWarning(const OutputAccuracy& output, const std::string& producer, int64_t samples, CheckData origin,
                           const QuantizeOptions& options) {
  std::string text = "output '" + output.output + "': SQNR " + FormatNumber("%.1f", output.sqnr_db) + " dB (cosine " +
                     FormatNumber("%.4f", output.cosine) + ") against the float model on " + std::to_string(samples) +
                     (origin == CheckData::kRandom ? " random" : " calibration") +
                     (samples == 1 ? " sample" : " samples") + ", below " +
                     FormatNumber("%g", options.output_check.sqnr_threshold_db) +
                     " dB: the quantized model's output is far from the float one";
  std::vector<std::string> tries;
  if (origin == CheckData::kRandom) tries.emplace_back("calibration data of real inputs (--calib-data)");
  if (!options.per_channel) tries.emplace_back("--per-channel");
  if (!options.passes.include_cle) {
    tries.emplace_back("--include-cle (with --replace-clip6-relu when the model has Clip(0,6))");
  }
  if (options.calibration.method == CalibrationMethod::kMinMax) {
    tries.emplace_back("--calibrate-method Percentile or Entropy");
  } else {
    tries.push_back("another --calibrate-method than " + CalibrationMethodName(options.calibration.method));
  }
  tries.push_back("keeping the nodes that compute it in float with --nodes-to-exclude" +
                  (producer.empty() ? std::string() : " (the last is '" + producer + "')"));
  text += "; try ";
  for (size_t i = 0; i < tries.size(); ++i) {
    text += (i == 0 ? "" : (i + 1 == tries.size() ? ", or " : ", ")) + tries[i];
  }
  return text;
}

}  // namespace

RunCapture CheckCapture(const OutputCheckOptions& options, ReferenceRuns* runs) {
  RunCapture capture{.runs = runs};
  if (options.samples) {
    capture.samples = *options.samples;
  } else {
    capture.samples = kDefaultSamples;
    capture.input_bytes = kDefaultInputBytes;
    capture.min_samples = kDefaultMinSamples;
  }
  return capture;
}

Result<OutputCheck> RandomCheckRuns(const onnx::ModelProto& model, const QuantizeOptions& options) {
  OutputCheck check{.origin = CheckData::kRandom};
  const RunCapture capture = CheckCapture(options.output_check, nullptr);
  if (capture.samples <= 0) return check;
  RandomDataOptions random = options.random_data;
  random.samples = capture.samples;
  ONNXQ_ASSIGN_OR_RETURN(RandomData data, MakeRandomDataReader(model, random));
  // One sample a batch (or the model's fixed batch), until the samples or the bytes are reached.
  int64_t samples = 0;
  int64_t bytes = 0;
  while (samples < capture.samples && (samples < capture.min_samples || bytes < capture.input_bytes)) {
    ONNXQ_ASSIGN_OR_RETURN(auto batch, data.reader->GetNext());
    if (!batch) break;
    samples += SamplesIn(*batch);
    for (const Tensor& t : *batch) bytes += static_cast<int64_t>(t.bytes.size());
    check.reference.runs.push_back({.feeds = std::move(*batch)});
  }
  return check;
}

std::map<std::string, std::string> OutputProducers(const onnx::ModelProto& model) {
  const auto& nodes = model.graph().node();
  std::map<std::string, int> writer;
  for (int i = 0; i < nodes.size(); ++i) {
    for (const auto& output : nodes[i].output()) writer[output] = i;
  }
  std::map<std::string, std::string> producers;
  for (const auto& output : model.graph().output()) {
    // Through Casts (a float16 model's outputs): excluding one would change nothing. A sorted graph
    // reads only what earlier nodes write, so each step goes back.
    auto it = writer.find(output.name());
    while (it != writer.end() && nodes[it->second].op_type() == "Cast" && nodes[it->second].input_size() > 0) {
      const auto before = writer.find(nodes[it->second].input(0));
      if (before == writer.end() || before->second >= it->second) break;
      it = before;
    }
    producers[output.name()] = it == writer.end() ? std::string() : NodeLabel(nodes[it->second], it->second);
  }
  return producers;
}

Result<ReferenceRuns> RunFloatReference(const InferenceBackend& backend, const onnx::ModelProto& float_model,
                                        const ReferenceRuns& runs) {
  const auto failed = [](const Status& s) { return Status(s.code(), "output check, float model: " + s.message()); };
  auto session = backend.CreateSession(float_model, kSessionOptions);
  if (!session.ok()) return failed(session.status());
  ReferenceRuns reference{.with_outputs = true};
  for (const auto& output : (*session)->outputs()) {
    if (output.type_supported && output.type == ElementType::kFloat) reference.outputs.push_back(output.name);
  }
  ONNXQ_ASSIGN_OR_RETURN(std::vector<Feeds> pieces, Runs(runs, **session));
  for (Feeds& feeds : pieces) {
    auto run = (*session)->Run(feeds, reference.outputs);
    if (!run.ok()) return failed(run.status());
    ReferenceRun& kept = reference.runs.emplace_back();
    for (size_t o = 0; o < reference.outputs.size(); ++o) {
      kept.shapes.push_back((*run)[o].shape);
      kept.values.emplace_back((*run)[o].data.begin(), (*run)[o].data.end());
    }
    kept.feeds = std::move(feeds);
  }
  return reference;
}

Result<std::vector<OutputAccuracy>> CompareWithReference(const InferenceBackend& backend,
                                                         const ReferenceRuns& reference,
                                                         const onnx::ModelProto& quantized) {
  const auto broken = [](const std::string& what) {
    return Internal("the quantized model " + what +
                    ": please report this, with the model (extra option OutputCheckSamples=0 skips this check)");
  };
  if (!reference.with_outputs) return Internal("output check: the float model's outputs are missing");
  auto session = backend.CreateSession(quantized, kSessionOptions);
  if (!session.ok()) return broken("does not load in ONNX Runtime (" + session.status().message() + ")");
  const std::vector<std::string>& names = reference.outputs;
  std::vector<SqnrSums> sums(names.size());
  for (const ReferenceRun& kept : reference.runs) {
    auto run = (*session)->Run(kept.feeds, names);
    if (!run.ok()) return broken("fails to run in ONNX Runtime (" + run.status().message() + ")");
    for (size_t o = 0; o < names.size(); ++o) {
      const OutputView& view = (*run)[o];
      if (!view.is_float || view.shape != kept.shapes[o]) {
        return broken("gives output '" + names[o] + "' another type or shape than the float model");
      }
      sums[o].Add(kept.values[o], view.data);
    }
  }
  std::vector<OutputAccuracy> outputs;
  for (size_t o = 0; o < names.size(); ++o) {
    outputs.push_back(
        {.output = names[o], .sqnr_db = sums[o].SqnrDb(), .cosine = sums[o].Cosine(), .values = sums[o].values});
  }
  return outputs;
}

Status CheckOutputs(const InferenceBackend& backend, const OutputCheck& check, const onnx::ModelProto& quantized,
                    const QuantizeOptions& options, QuantizeReport& report) {
  if (check.reference.runs.empty()) return Status::Ok();
  ONNXQ_ASSIGN_OR_RETURN(std::vector<OutputAccuracy> outputs,
                         CompareWithReference(backend, check.reference, quantized));
  int64_t samples = 0;
  for (const ReferenceRun& run : check.reference.runs) samples += SamplesIn(run.feeds);
  report.output_check_samples = samples;
  report.output_check_data = check.origin;
  for (OutputAccuracy& output : outputs) {
    if (output.sqnr_db >= options.output_check.sqnr_threshold_db) continue;
    const auto producer = check.producers.find(output.output);
    output.warning = LowSqnrWarning(output, producer == check.producers.end() ? std::string() : producer->second,
                                    samples, check.origin, options);
    report.warnings.push_back(output.warning);
  }
  report.outputs = std::move(outputs);
  return Status::Ok();
}

}  // namespace onnxq
