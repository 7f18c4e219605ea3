#include "calibration/collect_statistics.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include "algorithms/channel_sums.h"
#include "calibration/batch_rewrite.h"
#include "calibration/calibrator.h"
#include "calibration/inference_backend.h"
#include "calibration/parallel_batches.h"
#include "calibration/split_batch.h"
#include "calibration/table_ranges.h"
#include "calibration/tensor_statistic.h"
#include "ir/graph_view.h"

namespace onnxq {
namespace {

// Samples the reader hands over at a time when the batch axis is dynamic.
constexpr int64_t kAutoBatchSize = 16;

// Runs are sized (automatically) so that a run's calibrated tensors take about this much: the engine's
// activations then stay in cache between the node computing a tensor and the next one, and the
// statistics read each tensor in cache too, which more than pays for the extra runs (MobileNetV2 at
// 28x28 calibrates 1.5 MB a sample, and runs 4 samples at a time fastest; bench/RESULTS.md has its
// times at 1 to 32 samples a run).
constexpr int64_t kRunOutputBytes = int64_t{6} << 20;

// A sample whose calibrated tensors take more than this runs on one worker with every core: parallel
// runs would each hold their activations (IS-Net at 1024x1024 holds about 1 GB a run), and kernels
// that large parallelize well inside one run.
constexpr int64_t kParallelRunMaxBytes = int64_t{64} << 20;

// The reader hands over at most this many input bytes at a time when the batch size is automatic.
constexpr int64_t kAutoBatchMaxInputBytes = int64_t{16} << 20;

// a * b, or a huge value instead of overflowing (shapes come from the user's model).
int64_t SaturatingMultiply(int64_t a, int64_t b) {
  int64_t product = 0;
  return __builtin_mul_overflow(a, b, &product) ? std::numeric_limits<int64_t>::max() / 16 : product;
}

// Elements of one sample of a tensor of `dims` (axis 0 is the batch); a dim that is unknown, or not
// positive, counts as `unknown` (nullopt: the count is unknown).
std::optional<int64_t> ElementsPerSample(
    const google::protobuf::RepeatedPtrField<onnx::TensorShapeProto::Dimension>& dims, std::optional<int64_t> unknown) {
  int64_t elements = 1;
  for (int d = 1; d < dims.size(); ++d) {
    const auto& dim = dims.Get(d);
    const bool known = dim.has_dim_value() && dim.dim_value() >= 0;
    if (!known && !unknown) return std::nullopt;
    elements = SaturatingMultiply(elements, known ? dim.dim_value() : *unknown);
  }
  return elements;
}

// Bytes one sample adds to the tensors, from the shapes in the model; nullopt when one is unknown.
std::optional<int64_t> BytesPerSample(const onnx::ModelProto& model, const std::vector<std::string>& tensors) {
  std::map<std::string, const onnx::TypeProto*> types;
  const auto& graph = model.graph();
  for (const auto* list : {&graph.input(), &graph.output(), &graph.value_info()}) {
    for (const auto& value : *list) types[value.name()] = &value.type();
  }
  int64_t bytes = 0;
  for (const auto& name : tensors) {
    const auto it = types.find(name);
    if (it == types.end() || !it->second->has_tensor_type() || !it->second->tensor_type().has_shape()) {
      return std::nullopt;
    }
    const auto elements = ElementsPerSample(it->second->tensor_type().shape().dim(), std::nullopt);
    if (!elements) return std::nullopt;
    bytes = std::min(bytes + SaturatingMultiply(*elements, sizeof(float)), std::numeric_limits<int64_t>::max() / 16);
  }
  return bytes;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i > 0 ? "," : "") + (shape[i] < 0 ? "N" : std::to_string(shape[i]));
  return s + "]";
}

// Checks one batch against the model's inputs: names, element types, shapes, finite values.
Status ValidateFeeds(const Feeds& feeds, const std::vector<ValueInfo>& inputs, int64_t first_sample) {
  for (const auto& input : inputs) {
    const auto it = std::find_if(feeds.begin(), feeds.end(), [&](const Tensor& t) { return t.name == input.name; });
    if (it == feeds.end())
      return InvalidArgument("calibration data has no values for model input '" + input.name + "'");
  }
  for (const Tensor& feed : feeds) {
    const auto it = std::find_if(inputs.begin(), inputs.end(), [&](const ValueInfo& v) { return v.name == feed.name; });
    if (it == inputs.end()) {
      return InvalidArgument("calibration data names input '" + feed.name + "', which the model does not have");
    }
    if (it->type != feed.type) {
      return InvalidArgument("calibration data for input '" + feed.name + "' is " + ElementTypeName(feed.type) +
                             " but the model expects " + ElementTypeName(it->type));
    }
    bool shape_ok = it->shape.size() == feed.shape.size();
    // Axis 0 may hold several of the model's fixed batches: SplitBatch checks it. A tensor fed whole
    // has no batch axis: every axis must fit.
    for (size_t d = feed.batch_axis ? 1 : 0; shape_ok && d < feed.shape.size(); ++d) {
      shape_ok = it->shape[d] < 0 || it->shape[d] == feed.shape[d];
    }
    if (!shape_ok && !feed.batch_axis) {
      return InvalidArgument("calibration data for input '" + feed.name + "' has shape " + ShapeText(feed.shape) +
                             " (one sample, fed whole) but the model expects " + ShapeText(it->shape));
    }
    if (!shape_ok) {
      const std::vector<int64_t> sample(feed.shape.begin() + (feed.shape.empty() ? 0 : 1), feed.shape.end());
      return InvalidArgument("calibration data for input '" + feed.name + "' has samples of shape " +
                             ShapeText(sample) + " (a batch of " + ShapeText(feed.shape) + ") but the model expects " +
                             ShapeText(it->shape));
    }
    if (feed.type == ElementType::kFloat) {
      const auto values = feed.floats();
      const int64_t samples = feed.batch_axis && !feed.shape.empty() ? feed.shape[0] : 1;
      const int64_t per_sample = samples == 0 ? 1 : std::max<int64_t>(1, feed.element_count() / samples);
      for (size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) {
          return InvalidArgument("calibration data for input '" + feed.name + "' contains " +
                                 (std::isnan(values[i]) ? "NaN" : "Inf") + " in sample " +
                                 std::to_string(first_sample + static_cast<int64_t>(i) / per_sample));
        }
      }
    }
  }
  return Status::Ok();
}

// Adds a run's values of a tensor to the sums of its channels on `axis`, in the layout the engine
// handed them over in. A tensor of rank under 2, or blocked with its channels last, has no usable
// channels: its sums become inconsistent (no mean).
void AddToChannelSums(ChannelAxis axis, std::span<const float> values, const ObservedLayout& layout,
                      ChannelSums& sums) {
  const auto& shape = layout.shape;
  if (shape.size() < 2 || (layout.block > 0 && axis != ChannelAxis::kSecond)) {
    sums.consistent = false;
    return;
  }
  const size_t channel = axis == ChannelAxis::kSecond ? 1 : shape.size() - 1;
  int64_t inner = 1;
  for (size_t d = channel + 1; d < shape.size(); ++d) inner *= shape[d];
  if (layout.block > 0) {
    sums.AddBlocked(values, shape[channel], inner, layout.block);
  } else {
    sums.AddPlanar(values, shape[channel], inner);
  }
}

// The sums of an observed tensor's channels, for its mean per channel.
struct ChannelMeanSums {
  ChannelAxis axis = ChannelAxis::kSecond;
  ChannelSums sums;
};

// One worker's statistics, per observed tensor: the calibrator's statistic (null for a tensor
// observed only for its channel means), a magnitude histogram for the tensors that need one (null for
// the others) with its row size (0: every value), and the channel sums of the tensors whose channel
// means are asked for (null for the others).
struct WorkerStatistics {
  std::vector<std::unique_ptr<TensorStatistic>> statistics;
  std::vector<std::unique_ptr<MagnitudeHistogram>> magnitudes;
  std::vector<size_t> rows;
  std::vector<std::unique_ptr<ChannelMeanSums>> means;
};

// Hands each observed tensor to its statistics.
class StatisticsObserver final : public TensorObserver {
 public:
  explicit StatisticsObserver(WorkerStatistics& statistics) : statistics_(statistics) {}
  void Observe(size_t index, std::span<const float> values, const ObservedLayout& layout) override {
    values_seen_ += values.size();
    if (ChannelMeanSums* mean = statistics_.means[index].get(); mean != nullptr) {
      AddToChannelSums(mean->axis, values, layout, mean->sums);
    }
    TensorStatistic* const statistic = statistics_.statistics[index].get();
    if (statistic == nullptr) return;
    statistic->Collect(values);
    if (MagnitudeHistogram* magnitudes = statistics_.magnitudes[index].get(); magnitudes != nullptr) {
      const size_t row = statistics_.rows[index];
      if (row <= 1) {
        magnitudes->Add(values);
      } else {
        magnitudes->AddRowDeviations(values, row);
      }
    }
  }

  // Values handed over so far.
  size_t values_seen() const { return values_seen_; }

 private:
  WorkerStatistics& statistics_;
  size_t values_seen_ = 0;
};

// What the batch-independence check compares of each tensor, sample by sample.
struct SampleSummary {
  size_t count = 0;
  float min = 0;
  float max = 0;
  double sum = 0;
};

SampleSummary Summarize(std::span<const float> values) {
  SampleSummary s{.count = values.size()};
  MinMaxOf(values, &s.min, &s.max);
  s.sum = SumOf(values);
  return s;
}

// Whether two summaries of one sample's tensor agree to 1e-4 of its range: what holds when every
// value does.
bool Agree(const SampleSummary& a, const SampleSummary& b) {
  const float scale = std::max(std::fabs(b.min), std::fabs(b.max));
  const float tolerance = 1e-4F * scale + 1e-6F;
  return a.count == b.count && std::fabs(a.min - b.min) <= tolerance && std::fabs(a.max - b.max) <= tolerance &&
         std::fabs(a.sum - b.sum) <= static_cast<double>(tolerance) * static_cast<double>(b.count);
}

// Summarizes the first `summarized` samples of each tensor of a run of `batch` samples, and hands
// the tensors on to `next` when there is one.
class SummarizingObserver final : public TensorObserver {
 public:
  SummarizingObserver(size_t tensors, size_t batch, size_t summarized, TensorObserver* next)
      : summaries(tensors), batch_(batch), summarized_(summarized), next_(next) {}

  void Observe(size_t index, std::span<const float> values, const ObservedLayout& layout) override {
    auto& mine = summaries[index].emplace();
    if (values.size() % batch_ == 0) {  // else the sample count differs: no summaries, no match
      const size_t per_sample = values.size() / batch_;
      for (size_t p = 0; p < summarized_; ++p) mine.push_back(Summarize(values.subspan(p * per_sample, per_sample)));
    }
    if (next_ != nullptr) next_->Observe(index, values, layout);
  }

  std::vector<std::optional<std::vector<SampleSummary>>> summaries;  // nullopt: not handed over

 private:
  size_t batch_;
  size_t summarized_;
  TensorObserver* next_;
};

// Runs `batch` whole into `statistics` and its first samples one by one (on another thread when
// `concurrently`); true when every tensor of each of those samples agrees between the two. When not,
// `statistics` are to be discarded. Only the first `tensors` observed tensors are compared (not those
// observed for their channel means alone). The whole run's graph outputs named in
// `output_names` go to `outputs`.
Result<bool> RunWholeIfItMatchesSingleRuns(InferenceSession& session, const Feeds& batch, size_t tensors,
                                           size_t observed, StatisticsObserver& statistics, bool concurrently,
                                           std::span<const std::string> output_names, RunOutputs& outputs) {
  ONNXQ_ASSIGN_OR_RETURN(auto pieces, SplitBatch(batch, 1));
  constexpr size_t kChecked = 4;
  const size_t checked = std::min(pieces.size(), kChecked);
  std::vector<SummarizingObserver> singles(checked, SummarizingObserver(observed, 1, 1, nullptr));
  Status singles_status;
  const auto run_singles = [&] {
    for (size_t p = 0; p < checked && singles_status.ok(); ++p)
      singles_status = session.RunObserved(pieces[p], singles[p]);
  };
  std::optional<std::thread> other;
  if (concurrently) {
    try {
      other.emplace(run_singles);
    } catch (const std::system_error&) {
      // No thread to be had: the singles run first, on this one.
    }
  }
  if (!other) run_singles();
  SummarizingObserver whole(observed, pieces.size(), checked, &statistics);
  auto whole_run = session.RunObserved(batch, whole, output_names);
  if (other) other->join();
  ONNXQ_RETURN_IF_ERROR(whole_run.status());
  outputs = std::move(whole_run).value();
  ONNXQ_RETURN_IF_ERROR(singles_status);
  for (size_t t = 0; t < tensors; ++t) {
    const auto& all = whole.summaries[t];
    for (size_t p = 0; p < checked; ++p) {
      const auto& one = singles[p].summaries[t];
      if (all.has_value() != one.has_value()) return false;
      if (!all) continue;
      if (all->size() != checked || one->size() != 1 || !Agree((*all)[p], one->front())) return false;
    }
  }
  return true;
}

// Keeps the runs a RunCapture asks for, from any worker.
class RunKeeper {
 public:
  explicit RunKeeper(const RunCapture& capture) : capture_(capture) {}

  // How many samples of a run of `feeds` that starts at sample `first` to keep (0: none).
  int64_t Wanted(const Feeds& feeds, int64_t first) const {
    if (capture_.runs == nullptr || capture_.samples <= 0) return 0;
    const int64_t n = SamplesIn(feeds);
    int64_t limit = capture_.samples;
    if (capture_.input_bytes < std::numeric_limits<int64_t>::max()) {
      int64_t bytes = 0;
      for (const Tensor& t : feeds) bytes += static_cast<int64_t>(t.bytes.size());
      const int64_t per_sample = std::max<int64_t>(1, bytes / std::max<int64_t>(n, 1));
      limit = std::min(limit, std::max(capture_.min_samples, capture_.input_bytes / per_sample));
    }
    return first < limit ? std::min(n, limit - first) : 0;
  }

  // The run's inputs and its `outputs` (the graph outputs kept, in ReferenceRuns::outputs' order).
  void Keep(int64_t first, const Feeds& feeds, const RunOutputs& outputs) {
    ReferenceRun run{.feeds = feeds};
    for (size_t i = 0; i < outputs.size(); ++i) {
      run.shapes.push_back(outputs[i].shape);
      run.values.emplace_back(outputs[i].data.begin(), outputs[i].data.end());
    }
    const std::lock_guard<std::mutex> lock(mutex_);
    kept_[first] = std::move(run);
  }

  // `pieces` (runs from sample `first` on), the one that straddles the limit cut into runs that end
  // there (and after it, of the same size).
  std::vector<Feeds> CutAtLimit(std::vector<Feeds> pieces, int64_t first) const {
    std::vector<Feeds> cut;
    for (Feeds& piece : pieces) {
      const int64_t n = SamplesIn(piece);
      const int64_t wanted = Wanted(piece, first);
      first += n;
      if (wanted <= 0 || wanted >= n) {
        cut.push_back(std::move(piece));
        continue;
      }
      for (Feeds& part : SplitBatchAtMost(std::move(piece), wanted)) cut.push_back(std::move(part));
    }
    return cut;
  }

  // The first `count` samples of the run's inputs, without outputs.
  void KeepInputs(int64_t first, const Feeds& feeds, int64_t count) {
    ReferenceRun run{.feeds = FirstSamples(feeds, count)};
    const std::lock_guard<std::mutex> lock(mutex_);
    kept_[first] = std::move(run);
    inputs_only_ = true;
  }

  // The first `count` samples of a run of the symbolic-batch rewrite, each as a run of the model as
  // given (a fixed batch of 1): its inputs, and each output's values of that sample. An output is cut
  // along axis 0 when the model declares it [1, ...] and the run gave [n, ...] (the batch check showed
  // the samples lie along that axis); when one is not, only the inputs are kept.
  void KeepSamples(int64_t first, const Feeds& feeds, int64_t count, const RunOutputs& outputs,
                   const std::vector<bool>& batch_of_one) {
    const int64_t n = SamplesIn(feeds);
    for (size_t o = 0; o < outputs.size(); ++o) {
      const auto& shape = outputs[o].shape;
      if (!batch_of_one[o] || shape.empty() || shape[0] != n || outputs[o].data.size() % static_cast<size_t>(n) != 0) {
        KeepInputs(first, feeds, count);
        return;
      }
    }
    auto pieces = SplitBatch(FirstSamples(feeds, count), 1);
    if (!pieces.ok() || static_cast<int64_t>(pieces->size()) != std::min(n, count)) {
      KeepInputs(first, feeds, count);
      return;
    }
    for (size_t p = 0; p < pieces->size(); ++p) {
      ReferenceRun run{.feeds = std::move((*pieces)[p])};
      for (size_t o = 0; o < outputs.size(); ++o) {
        std::vector<int64_t> shape = outputs[o].shape;
        shape[0] = 1;
        const size_t size = outputs[o].data.size() / static_cast<size_t>(n);
        const auto values = outputs[o].data.subspan(p * size, size);
        run.shapes.push_back(std::move(shape));
        run.values.emplace_back(values.begin(), values.end());
      }
      const std::lock_guard<std::mutex> lock(mutex_);
      kept_[first + static_cast<int64_t>(p)] = std::move(run);
    }
  }

  void Finish(std::vector<std::string> outputs) {
    if (capture_.runs == nullptr) return;
    ReferenceRuns& runs = *capture_.runs;
    runs.with_outputs = !inputs_only_;
    runs.outputs = runs.with_outputs ? std::move(outputs) : std::vector<std::string>();
    runs.runs.clear();
    for (auto& [first, run] : kept_) runs.runs.push_back(std::move(run));
  }

 private:
  const RunCapture& capture_;
  std::mutex mutex_;
  std::map<int64_t, ReferenceRun> kept_;  // by first sample
  bool inputs_only_ = false;              // a run was kept without its outputs
};

// The float graph outputs of `session`, and whether `model` declares each with a batch of 1.
std::vector<std::string> FloatOutputs(const InferenceSession& session, const onnx::ModelProto& model,
                                      std::vector<bool>& batch_of_one) {
  std::map<std::string, bool> declared;
  for (const auto& output : model.graph().output()) {
    const auto& type = output.type();
    declared[output.name()] =
        type.has_tensor_type() && type.tensor_type().has_shape() && type.tensor_type().shape().dim_size() > 0 &&
        type.tensor_type().shape().dim(0).has_dim_value() && type.tensor_type().shape().dim(0).dim_value() == 1;
  }
  std::vector<std::string> names;
  batch_of_one.clear();
  for (const auto& output : session.outputs()) {
    if (!output.type_supported || output.type != ElementType::kFloat) continue;
    names.push_back(output.name);
    batch_of_one.push_back(declared[output.name]);
  }
  return names;
}

// How many workers calibrate and how runs are sized, from what the model tells of the tensors' sizes.
struct WorkerPlan {
  int workers = 1;
  bool probe = false;       // the first batch runs alone and its observed tensors decide the workers
  bool large_runs = false;  // samples too large for parallel runs: one worker with every core
  int64_t run_batch = 0;    // samples a run when the batch axis is dynamic (0: as the reader batches them)
};

WorkerPlan PlanWorkers(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                       const CalibrationOptions& options) {
  // Workers run whole batches in parallel, each with a single-threaded session run and statistics
  // of its own; the statistics are merged at the end. Merging is exact and independent of order for
  // every statistic except a moving average, which therefore runs on one worker.
  WorkerPlan plan;
  plan.workers =
      options.threads > 0 ? options.threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  if (options.moving_average) plan.workers = 1;
  const std::optional<int64_t> bytes_per_sample = BytesPerSample(model, tensors);
  plan.large_runs = bytes_per_sample && *bytes_per_sample > kParallelRunMaxBytes;
  if (plan.large_runs) plan.workers = 1;
  // Without shapes, the first batch runs alone and its observed tensors decide; its session then
  // runs on every core, in case one worker is all the memory allows.
  plan.probe = !bytes_per_sample && plan.workers > 1;
  if (options.batch_size <= 0 && !StatisticsArePerBatch(options) && bytes_per_sample && *bytes_per_sample > 0) {
    plan.run_batch = std::max<int64_t>(1, kRunOutputBytes / *bytes_per_sample);
  }
  return plan;
}

// The tensors calibration observes: `tensors` (calibrated), then those of `means` among neither
// (observed for their channel means alone).
std::vector<std::string> ObservedTensors(const std::vector<std::string>& tensors, const ChannelMeanRequest& means) {
  std::vector<std::string> observed = tensors;
  const std::set<std::string> calibrated(tensors.begin(), tensors.end());
  for (const auto& [tensor, axis] : means.tensors) {
    if (!calibrated.contains(tensor)) observed.push_back(tensor);
  }
  return observed;
}

// Fresh statistics for one worker, for each of `observed`: the calibrator's statistic (with a
// magnitude histogram when asked) for the first `calibrated`, and channel sums for those in `means`.
WorkerStatistics NewWorkerStatistics(const std::vector<std::string>& observed, size_t calibrated,
                                     const ChannelMeanRequest& means, const Calibrator& calibrator,
                                     const std::map<std::string, size_t>& magnitude_tensors) {
  WorkerStatistics statistics;
  for (size_t i = 0; i < observed.size(); ++i) {
    const std::string& tensor = observed[i];
    const auto wanted = magnitude_tensors.find(tensor);
    const bool counted = i < calibrated && wanted != magnitude_tensors.end();
    statistics.statistics.push_back(i < calibrated ? calibrator.NewStatistic() : nullptr);
    statistics.magnitudes.push_back(counted ? std::make_unique<MagnitudeHistogram>() : nullptr);
    statistics.rows.push_back(counted ? wanted->second : 0);
    const auto mean = means.tensors.find(tensor);
    statistics.means.push_back(mean == means.tensors.end() ? nullptr
                                                           : std::make_unique<ChannelMeanSums>(
                                                                 ChannelMeanSums{.axis = mean->second, .sums = {}}));
  }
  return statistics;
}

// The session calibration runs, and how a batch becomes its runs.
struct CalibrationSession {
  std::unique_ptr<InferenceSession> session;
  bool rewritten = false;                 // it runs the model with a symbolic batch, not as given
  int64_t model_batch = -1;               // the fixed batch runs are cut into (-1: none)
  int64_t run_batch = 0;                  // samples a run of a dynamic batch (0: as read)
  bool cut_at_capture = false;            // a run that straddles the samples RunCapture asks for is cut
  std::vector<std::string> kept_outputs;  // float graph outputs kept with the captured runs
  std::vector<bool> batch_of_one;         // per kept output: the model declares it [1, ...]
};

// The reader's first batch when the batch check read it: pieces still to run (validated), after the
// samples the check ran.
struct FirstBatch {
  std::vector<Feeds> pending;
  int64_t samples_done = 0;  // into the first worker's statistics
};

// A fixed batch of 1 with larger batches from the reader: run them whole if the graph is
// batch-independent, which the first batch must show. With a batch of 1 the symbolic-batch model
// computes exactly what the model as given does, so one session serves both sides of the check.
// When the check passes, `calibration` holds the symbolic-batch session; when not, the first worker's
// `statistics` are to be discarded and the batch runs on the model as given (in pieces, when the
// check cut it).
Result<FirstBatch> CheckBatchIndependence(const InferenceBackend& backend, const onnx::ModelProto& model,
                                          CalibrationDataReader& reader, const SessionOptions& session_options,
                                          size_t tensors, bool concurrently, WorkerStatistics& statistics,
                                          RunKeeper& keeper, CalibrationSession& calibration) {
  FirstBatch first_batch;
  ONNXQ_ASSIGN_OR_RETURN(auto first, reader.GetNext());
  const auto has_batch_axis = [](const Tensor& t) { return t.batch_axis; };
  if (!first || first->empty() || !std::all_of(first->begin(), first->end(), has_batch_axis) ||
      SamplesIn(*first) <= 1) {
    if (first) first_batch.pending.push_back(std::move(*first));
    return first_batch;
  }
  auto batched = backend.CreateSession(WithSymbolicBatch(model), session_options);
  if (!batched.ok()) {
    first_batch.pending.push_back(std::move(*first));
    return first_batch;
  }
  std::vector<ValueInfo> as_given = (*batched)->inputs();  // every input has a batch of 1
  for (auto& input : as_given) {
    if (!input.shape.empty()) input.shape[0] = 1;
  }
  ONNXQ_RETURN_IF_ERROR(ValidateFeeds(*first, as_given, 0));
  // The check runs one run's worth of the batch whole (the whole batch for per-batch statistics); the
  // rest follows as usual.
  first_batch.pending = SplitBatchAtMost(std::move(*first), calibration.run_batch);
  const Feeds& checked = first_batch.pending.front();
  StatisticsObserver into(statistics);
  const int64_t wanted = keeper.Wanted(checked, 0);
  if (wanted > 0) calibration.kept_outputs = FloatOutputs(**batched, model, calibration.batch_of_one);
  RunOutputs outputs;
  auto whole = RunWholeIfItMatchesSingleRuns(**batched, checked, tensors, session_options.observed.size(), into,
                                             concurrently, calibration.kept_outputs, outputs);
  if (!whole.ok() || !*whole) return first_batch;
  calibration.session = std::move(*batched);
  calibration.rewritten = true;
  if (wanted > 0) keeper.KeepSamples(0, checked, wanted, outputs, calibration.batch_of_one);
  first_batch.samples_done = SamplesIn(checked);
  first_batch.pending.erase(first_batch.pending.begin());
  return first_batch;
}

// A session of the model as given, when the batch check did not choose the symbolic batch; the
// pieces read before are validated against it.
Status OpenModelAsGiven(const InferenceBackend& backend, const onnx::ModelProto& model,
                        const SessionOptions& session_options, const std::vector<Feeds>& pending,
                        CalibrationSession& calibration) {
  ONNXQ_ASSIGN_OR_RETURN(calibration.session, backend.CreateSession(model, session_options));
  const auto& inputs = calibration.session->inputs();
  calibration.model_batch = inputs.empty() || inputs[0].shape.empty() ? int64_t{-1} : inputs[0].shape[0];
  int64_t first_sample = 0;
  for (const Feeds& piece : pending) {
    ONNXQ_RETURN_IF_ERROR(ValidateFeeds(piece, inputs, first_sample));
    first_sample += SamplesIn(piece);
  }
  return Status::Ok();
}

// Runs one batch into `observer` (`validated`: checked against the model's inputs before), keeping
// the runs `keeper` asks for. Returns the samples run.
Result<int64_t> RunBatch(const CalibrationSession& calibration, TakenBatch batch, bool validated,
                         StatisticsObserver& observer, RunKeeper& keeper) {
  InferenceSession& session = *calibration.session;
  if (!validated) ONNXQ_RETURN_IF_ERROR(ValidateFeeds(batch.feeds, session.inputs(), batch.first_sample));
  std::vector<Feeds> pieces;
  if (calibration.model_batch > 0) {
    ONNXQ_ASSIGN_OR_RETURN(pieces, SplitBatch(std::move(batch.feeds), calibration.model_batch));
  } else {
    pieces = SplitBatchAtMost(std::move(batch.feeds), calibration.run_batch);
  }
  if (calibration.cut_at_capture) pieces = keeper.CutAtLimit(std::move(pieces), batch.first_sample);
  int64_t done = 0;
  for (const Feeds& feeds : pieces) {
    const int64_t first = batch.first_sample + done;
    const int64_t wanted = keeper.Wanted(feeds, first);
    if (wanted > 0) {
      ONNXQ_ASSIGN_OR_RETURN(const RunOutputs run, session.RunObserved(feeds, observer, calibration.kept_outputs));
      if (calibration.rewritten) {
        keeper.KeepSamples(first, feeds, wanted, run, calibration.batch_of_one);
      } else {
        keeper.Keep(first, feeds, run);
      }
    } else {
      ONNXQ_RETURN_IF_ERROR(session.RunObserved(feeds, observer));
    }
    done += SamplesIn(feeds);
  }
  return done;
}

// Options of the calibration session: it observes `observed`. The tensors are only summarized, so the
// runtime may hand them over in its internal layout.
SessionOptions CalibrationSessionOptions(const WorkerPlan& plan, std::vector<std::string> observed) {
  return {.intra_op_threads = plan.workers > 1 && !plan.probe ? 1 : 0,
          .allow_spinning = false,
          .memory_pattern = !plan.probe && !plan.large_runs,
          .observed = std::move(observed)};
}

// Completes `calibration` for the runs: a session of the model as given unless the batch check chose
// the symbolic batch (`pending`: the pieces the check read), how batches are cut into runs, and which
// graph outputs a captured run keeps.
Status PrepareRuns(const InferenceBackend& backend, const onnx::ModelProto& model,
                   const SessionOptions& session_options, const CalibrationOptions& options,
                   const std::vector<Feeds>& pending, CalibrationSession& calibration) {
  if (calibration.session == nullptr) {
    ONNXQ_RETURN_IF_ERROR(OpenModelAsGiven(backend, model, session_options, pending, calibration));
  }
  if (calibration.model_batch > 0) calibration.run_batch = 0;
  // A run of a dynamic batch that straddles the samples RunCapture asks for is cut there, unless the
  // statistics count runs (per-batch statistics see the reader's batches whole).
  calibration.cut_at_capture = calibration.model_batch <= 0 && !StatisticsArePerBatch(options);
  calibration.kept_outputs = FloatOutputs(*calibration.session, model, calibration.batch_of_one);
  return Status::Ok();
}

// The samples calibration will run, for progress: CalibDataSize or the reader's count, the smaller
// when both are known; -1 when neither is.
int64_t TotalSamples(const CalibrationOptions& options, const CalibrationDataReader& reader) {
  return options.max_samples >= 0 && reader.SampleCount() >= 0
             ? std::min(options.max_samples, reader.SampleCount())
             : (options.max_samples >= 0 ? options.max_samples : reader.SampleCount());
}

// Runs the pieces `first` left, then the reader's batches, on the plan's workers, each into its own
// `stats`. Returns the samples run, the batch check's included.
Result<int64_t> RunAllBatches(CalibrationDataReader& reader, const CalibrationOptions& options,
                              const ProgressCallback& progress, const WorkerPlan& plan,
                              const CalibrationSession& calibration, RunKeeper& keeper, FirstBatch first,
                              std::vector<WorkerStatistics>& stats) {
  const int64_t total = TotalSamples(options, reader);
  if (first.samples_done > 0 && progress) progress("calibrate", first.samples_done, total);
  int64_t validated_until = first.samples_done;  // samples before it were checked before the workers start
  for (const Feeds& piece : first.pending) validated_until += SamplesIn(piece);
  size_t next_pending = 0;
  ParallelBatches batches(
      [&]() -> Result<std::optional<Feeds>> {
        if (next_pending < first.pending.size()) return std::optional<Feeds>(std::move(first.pending[next_pending++]));
        return reader.GetNext();
      },
      {.max_samples = options.max_samples,
       .samples_before = first.samples_done,
       .stage = "calibrate",
       .total = total,
       .progress = progress});
  std::vector<std::unique_ptr<StatisticsObserver>> observers;
  observers.reserve(stats.size());
  for (auto& per_worker : stats) observers.push_back(std::make_unique<StatisticsObserver>(per_worker));
  const auto work = [&](size_t worker, TakenBatch batch) {
    const bool validated = batch.first_sample < validated_until;
    return RunBatch(calibration, std::move(batch), validated, *observers[worker], keeper);
  };
  int workers = plan.workers;
  if (plan.probe) {
    ONNXQ_RETURN_IF_ERROR(batches.Run(1, work, 1));
    const int64_t samples = batches.samples_done() - first.samples_done;
    const auto bytes = static_cast<int64_t>(observers[0]->values_seen() * sizeof(float));
    if (samples > 0 && bytes / samples > kParallelRunMaxBytes) workers = 1;
  }
  ONNXQ_RETURN_IF_ERROR(batches.Run(workers, work));
  if (batches.samples_done() == 0) return InvalidArgument("the calibration data reader produced no samples");
  return batches.samples_done();
}

// The workers' statistics merged into the first's, by tensor: `observed` (the first `calibrated` of
// them with a statistic).
Result<CollectedStatistics> MergeWorkerStatistics(std::vector<WorkerStatistics>& workers,
                                                  const std::vector<std::string>& observed, size_t calibrated,
                                                  int64_t samples) {
  WorkerStatistics& first = workers.front();
  CollectedStatistics result;
  result.samples = samples;
  for (size_t i = 0; i < calibrated; ++i) {
    for (size_t w = 1; w < workers.size(); ++w) {
      ONNXQ_RETURN_IF_ERROR(first.statistics[i]->Merge(*workers[w].statistics[i]));
      if (first.magnitudes[i] != nullptr) first.magnitudes[i]->Merge(*workers[w].magnitudes[i]);
    }
    result.statistics[observed[i]] = std::move(first.statistics[i]);
    if (first.magnitudes[i] != nullptr) result.magnitudes[observed[i]] = *first.magnitudes[i];
  }
  for (size_t i = 0; i < observed.size(); ++i) {
    if (first.means[i] == nullptr) continue;
    for (size_t w = 1; w < workers.size(); ++w) first.means[i]->sums.Merge(workers[w].means[i]->sums);
    auto mean = first.means[i]->sums.Mean();
    if (!mean.empty()) result.channel_means[observed[i]] = std::move(mean);
  }
  return result;
}

}  // namespace

int64_t ChooseBatchSize(const onnx::ModelProto& model, const CalibrationOptions& options) {
  const auto& graph = model.graph();
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  for (const auto& input : graph.input()) {
    if (initializers.contains(input.name())) continue;
    const auto& shape = input.type().tensor_type().shape();
    if (shape.dim_size() == 0) continue;
    const auto& dim = shape.dim(0);
    // A fixed batch of 1 is read in larger batches: CollectStatistics runs them whole when the graph
    // proves batch-independent, else splits them.
    if (dim.has_dim_value() && dim.dim_value() > 1) return dim.dim_value();
  }
  if (options.batch_size > 0) return options.batch_size;
  // Large samples (high-resolution images) are read a few at a time.
  int64_t input_bytes = 0;
  for (const auto& input : graph.input()) {
    if (initializers.contains(input.name())) continue;
    const int64_t elements = *ElementsPerSample(input.type().tensor_type().shape().dim(), 1);
    input_bytes = std::min(input_bytes + SaturatingMultiply(elements, sizeof(float)), kAutoBatchMaxInputBytes);
  }
  return std::clamp<int64_t>(kAutoBatchMaxInputBytes / std::max<int64_t>(input_bytes, 1), 1, kAutoBatchSize);
}

Result<CollectedStatistics> CollectStatistics(const InferenceBackend& backend, const onnx::ModelProto& model,
                                              const std::vector<std::string>& tensors, CalibrationDataReader& reader,
                                              const Calibrator& calibrator, const CalibrationOptions& options,
                                              const ProgressCallback& progress,
                                              const std::map<std::string, size_t>& magnitude_tensors,
                                              const ChannelMeanRequest& means, const RunCapture& capture) {
  const WorkerPlan plan = PlanWorkers(model, tensors, options);
  const std::vector<std::string> observed = ObservedTensors(tensors, means);
  const SessionOptions session_options = CalibrationSessionOptions(plan, observed);
  const auto new_statistics = [&] {
    return NewWorkerStatistics(observed, tensors.size(), means, calibrator, magnitude_tensors);
  };
  std::vector<WorkerStatistics> stats(static_cast<size_t>(plan.workers));
  for (auto& per_worker : stats) per_worker = new_statistics();

  // Choose the session: the symbolic-batch rewrite of a fixed batch of 1 when the first batch shows
  // the graph batch-independent, else the model as given.
  RunKeeper keeper(capture);
  CalibrationSession calibration{.run_batch = plan.run_batch};
  FirstBatch first;
  if (HasFixedBatchOfOne(model)) {
    ONNXQ_ASSIGN_OR_RETURN(first, CheckBatchIndependence(backend, model, reader, session_options, tensors.size(),
                                                         plan.workers > 1, stats[0], keeper, calibration));
    if (calibration.session == nullptr) stats[0] = new_statistics();
  }
  ONNXQ_RETURN_IF_ERROR(PrepareRuns(backend, model, session_options, options, first.pending, calibration));

  // Run the data: the pieces the check left first, then the reader's batches.
  ONNXQ_ASSIGN_OR_RETURN(const int64_t samples,
                         RunAllBatches(reader, options, progress, plan, calibration, keeper, std::move(first), stats));
  keeper.Finish(std::move(calibration.kept_outputs));
  return MergeWorkerStatistics(stats, observed, tensors.size(), samples);
}

Result<CalibrationTable> Calibrate(const InferenceBackend& backend, const onnx::ModelProto& model,
                                   const std::vector<std::string>& tensors, CalibrationDataReader& reader,
                                   const CalibrationSettings& settings, const ProgressCallback& progress,
                                   TableContent content, const MagnitudeRequest& magnitudes,
                                   const ChannelMeanRequest& means, const RunCapture& capture) {
  ONNXQ_ASSIGN_OR_RETURN(auto calibrator, MakeCalibrator(settings));
  ONNXQ_ASSIGN_OR_RETURN(auto collected,
                         CollectStatistics(backend, model, tensors, reader, *calibrator, settings.calibration, progress,
                                           magnitudes.tensors, means, capture));
  if (magnitudes.histograms != nullptr) *magnitudes.histograms = std::move(collected.magnitudes);
  std::set<std::string> model_inputs;
  for (const auto& input : model.graph().input()) model_inputs.insert(input.name());
  for (const auto& init : model.graph().initializer()) model_inputs.erase(init.name());
  ONNXQ_ASSIGN_OR_RETURN(CalibrationTable table,
                         BuildCalibrationTable(collected.statistics, collected.samples, *calibrator, settings,
                                               model_inputs, settings.calibration.threads, content));
  table.channel_means = std::move(collected.channel_means);
  return table;
}

}  // namespace onnxq
