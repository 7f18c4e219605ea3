#include "calibration/collect_statistics.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "calibration/batch_rewrite.h"
#include "calibration/calibrator.h"
#include "calibration/inference_backend.h"
#include "calibration/split_batch.h"
#include "calibration/table_ranges.h"

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
    const auto& dims = it->second->tensor_type().shape().dim();
    int64_t elements = 1;
    for (int d = 1; d < dims.size(); ++d) {
      if (!dims.Get(d).has_dim_value()) return std::nullopt;
      elements *= dims.Get(d).dim_value();
    }
    bytes += elements * static_cast<int64_t>(sizeof(float));
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
    // Axis 0 may hold several of the model's fixed batches: SplitBatch checks it.
    for (size_t d = 1; shape_ok && d < feed.shape.size(); ++d) {
      shape_ok = it->shape[d] < 0 || it->shape[d] == feed.shape[d];
    }
    if (!shape_ok) {
      const std::vector<int64_t> sample(feed.shape.begin() + (feed.shape.empty() ? 0 : 1), feed.shape.end());
      return InvalidArgument("calibration data for input '" + feed.name + "' has samples of shape " +
                             ShapeText(sample) + " (a batch of " + ShapeText(feed.shape) + ") but the model expects " +
                             ShapeText(it->shape));
    }
    if (feed.type == ElementType::kFloat) {
      const auto values = feed.floats();
      const int64_t per_sample = feed.shape.empty() || feed.shape[0] == 0 ? 1 : feed.element_count() / feed.shape[0];
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

// Keeps a copy of what each run hands over.
class CopyingObserver final : public TensorObserver {
 public:
  explicit CopyingObserver(size_t tensors) : values(tensors) {}
  void Observe(size_t index, std::span<const float> v) override { values[index].emplace(v.begin(), v.end()); }
  std::vector<std::optional<std::vector<float>>> values;  // nullopt: not handed over (not float)
};

// Hands each observed tensor to its statistic.
class StatisticsObserver final : public TensorObserver {
 public:
  explicit StatisticsObserver(std::vector<std::unique_ptr<TensorStatistic>>& statistics) : statistics_(statistics) {}
  void Observe(size_t index, std::span<const float> values) override { statistics_[index]->Collect(values); }

 private:
  std::vector<std::unique_ptr<TensorStatistic>>& statistics_;
};

// Checks a whole batch's tensors against those of its first samples run one by one (to 1e-4 of each
// tensor's range) and hands them on.
class CheckingObserver final : public TensorObserver {
 public:
  CheckingObserver(const std::vector<CopyingObserver>& singles, size_t tensors, size_t batch, TensorObserver& next)
      : singles_(singles), batch_(batch), next_(next), seen_(tensors) {}

  void Observe(size_t index, std::span<const float> values) override {
    seen_[index] = true;
    for (size_t p = 0; p < singles_.size() && matches_; ++p) {
      const auto& one = singles_[p].values[index];
      if (!one || values.size() != one->size() * batch_) {
        matches_ = false;
        break;
      }
      float scale = 0;
      for (const float v : *one) scale = std::max(scale, std::fabs(v));
      const float tolerance = 1e-4F * scale + 1e-6F;
      const auto slice = values.subspan(p * one->size(), one->size());
      for (size_t i = 0; i < slice.size(); ++i) {
        if (!(std::fabs(slice[i] - (*one)[i]) <= tolerance)) {
          matches_ = false;
          break;
        }
      }
    }
    next_.Observe(index, values);
  }

  // Whether every tensor matched (and the single runs handed over no tensor the whole run did not).
  bool Matches() const {
    for (size_t t = 0; t < seen_.size(); ++t) {
      for (const auto& one : singles_) {
        if (one.values[t].has_value() != seen_[t]) return false;
      }
    }
    return matches_;
  }

 private:
  const std::vector<CopyingObserver>& singles_;
  size_t batch_;
  TensorObserver& next_;
  std::vector<bool> seen_;
  bool matches_ = true;
};

// Runs `batch` whole into `statistics` when that gives, for every tensor, what running its first
// samples one by one gives; returns false (with `statistics` to be discarded) when it does not.
Result<bool> RunWholeIfItMatchesSingleRuns(InferenceSession& session, const Feeds& batch, size_t tensors,
                                           TensorObserver& statistics) {
  ONNXQ_ASSIGN_OR_RETURN(auto pieces, SplitBatch(batch, 1));
  constexpr size_t kChecked = 4;
  std::vector<CopyingObserver> singles(std::min(pieces.size(), kChecked), CopyingObserver(tensors));
  for (size_t p = 0; p < singles.size(); ++p) ONNXQ_RETURN_IF_ERROR(session.RunObserved(pieces[p], singles[p]));
  CheckingObserver checking(singles, tensors, pieces.size(), statistics);
  ONNXQ_RETURN_IF_ERROR(session.RunObserved(batch, checking));
  return checking.Matches();
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
  return options.batch_size > 0 ? options.batch_size : kAutoBatchSize;
}

Result<CollectedStatistics> CollectStatistics(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                              CalibrationDataReader& reader, const Calibrator& calibrator,
                                              const CalibrationOptions& options, const ProgressCallback& progress) {
  // Workers run whole batches in parallel, each with a single-threaded session run and statistics
  // of its own; the statistics are merged at the end. Merging is exact and independent of order for
  // every statistic except a moving average, which therefore runs on one worker.
  int workers =
      options.threads > 0 ? options.threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  if (options.moving_average) workers = 1;
  // The tensors are only summarized, so the runtime may hand them over in its internal layout.
  const SessionOptions session_options{
      .intra_op_threads = workers > 1 ? 1 : 0, .allow_spinning = false, .observed = tensors};
  std::unique_ptr<InferenceSession> session;
  int64_t model_batch = -1;
  const auto new_statistics = [&] {
    std::vector<std::unique_ptr<TensorStatistic>> per_worker;
    for (size_t i = 0; i < tensors.size(); ++i) per_worker.push_back(calibrator.NewStatistic());
    return per_worker;
  };
  std::vector<std::vector<std::unique_ptr<TensorStatistic>>> stats(static_cast<size_t>(workers));
  for (auto& per_worker : stats) per_worker = new_statistics();
  // Samples a run when the batch axis is dynamic (0: as the reader batches them).
  int64_t run_batch = 0;
  if (options.batch_size <= 0 && !StatisticsArePerBatch(options)) {
    if (const auto bytes = BytesPerSample(model, tensors); bytes && *bytes > 0) {
      run_batch = std::max<int64_t>(1, kRunOutputBytes / *bytes);
    }
  }
  std::vector<Feeds> pending;      // read and validated, in order, before the workers start
  int64_t first_samples_done = 0;  // samples the check ran, into the first worker's statistics
  // A fixed batch of 1 with larger batches from the reader: run them whole if the graph is
  // batch-independent, which the first batch must show. With a batch of 1 the symbolic-batch model
  // computes exactly what the model as given does, so one session serves both sides of the check.
  if (HasFixedBatchOfOne(model)) {
    ONNXQ_ASSIGN_OR_RETURN(auto first, reader.GetNext());
    bool split = false;  // `first` went into `pending`
    if (first && !first->empty() && !(*first)[0].shape.empty() && (*first)[0].shape[0] > 1) {
      auto batched = CreateOnnxRuntimeSession(WithSymbolicBatch(model), session_options);
      if (batched.ok()) {
        std::vector<ValueInfo> as_given = (*batched)->inputs();  // every input has a batch of 1
        for (auto& input : as_given) {
          if (!input.shape.empty()) input.shape[0] = 1;
        }
        ONNXQ_RETURN_IF_ERROR(ValidateFeeds(*first, as_given, 0));
        // The check runs one run's worth of the batch whole (the whole batch for per-batch
        // statistics); the rest follows as usual.
        pending = SplitBatchAtMost(std::move(*first), run_batch);
        split = true;
        StatisticsObserver into(stats[0]);
        auto whole = RunWholeIfItMatchesSingleRuns(**batched, pending.front(), tensors.size(), into);
        if (whole.ok() && *whole) {
          session = std::move(*batched);
          first_samples_done = pending.front()[0].shape[0];
          pending.erase(pending.begin());
        } else {
          stats[0] = new_statistics();
        }
      }
    }
    // Without the check, the batch runs on the model as given (so do its pieces when it failed).
    if (!split && first) pending.push_back(std::move(*first));
  }
  if (session == nullptr) {
    ONNXQ_ASSIGN_OR_RETURN(session, CreateOnnxRuntimeSession(model, session_options));
    const auto& shape = session->inputs().empty() ? std::vector<int64_t>{} : session->inputs()[0].shape;
    model_batch = shape.empty() ? int64_t{-1} : shape[0];
    int64_t first_sample = 0;
    for (const Feeds& piece : pending) {
      ONNXQ_RETURN_IF_ERROR(ValidateFeeds(piece, session->inputs(), first_sample));
      first_sample += piece.empty() || piece[0].shape.empty() ? 1 : piece[0].shape[0];
    }
  }
  if (model_batch > 0) run_batch = 0;

  const int64_t total = options.max_samples >= 0 && reader.SampleCount() >= 0
                            ? std::min(options.max_samples, reader.SampleCount())
                            : (options.max_samples >= 0 ? options.max_samples : reader.SampleCount());
  std::mutex mutex;  // guards reader, pending, counters, first_error and progress
  int64_t samples_read = first_samples_done;
  int64_t samples_done = first_samples_done;
  Status first_error;
  bool exhausted = false;
  if (samples_done > 0 && progress) progress("calibrate", samples_done, total);

  auto work = [&](size_t worker) {
    StatisticsObserver mine(stats[worker]);
    while (true) {
      std::optional<Feeds> batch;
      int64_t first_sample = 0;
      bool validated = false;  // pending pieces were checked before the workers started
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (exhausted || !first_error.ok() || (options.max_samples >= 0 && samples_read >= options.max_samples)) return;
        validated = !pending.empty();
        Result<std::optional<Feeds>> next = std::optional<Feeds>();
        if (validated) {
          next = std::optional<Feeds>(std::move(pending.front()));
          pending.erase(pending.begin());
        } else {
          next = reader.GetNext();
        }
        if (!next.ok()) {
          first_error = next.status();
          return;
        }
        if (!next->has_value()) {
          exhausted = true;
          return;
        }
        batch = std::move(*next);
        first_sample = samples_read;
        samples_read += batch->empty() || (*batch)[0].shape.empty() ? 1 : (*batch)[0].shape[0];
      }
      Status status = validated ? Status::Ok() : ValidateFeeds(*batch, session->inputs(), first_sample);
      int64_t done = 0;
      if (status.ok()) {
        auto pieces = model_batch > 0 ? SplitBatch(std::move(*batch), model_batch)
                                      : Result<std::vector<Feeds>>(SplitBatchAtMost(std::move(*batch), run_batch));
        status = pieces.status();
        for (size_t p = 0; status.ok() && p < pieces->size(); ++p) {
          const Feeds& feeds = (*pieces)[p];
          status = session->RunObserved(feeds, mine);
          if (!status.ok()) break;
          done += feeds.empty() || feeds[0].shape.empty() ? 1 : feeds[0].shape[0];
        }
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (!status.ok()) {
        if (first_error.ok()) first_error = status;
        return;
      }
      samples_done += done;
      if (progress) progress("calibrate", samples_done, total);
    }
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) threads.emplace_back(work, static_cast<size_t>(w));
  work(0);
  for (auto& t : threads) t.join();
  ONNXQ_RETURN_IF_ERROR(first_error);
  if (samples_done == 0) return InvalidArgument("the calibration data reader produced no samples");

  CollectedStatistics result;
  result.samples = samples_done;
  for (size_t i = 0; i < tensors.size(); ++i) {
    for (int w = 1; w < workers; ++w) ONNXQ_RETURN_IF_ERROR(stats[0][i]->Merge(*stats[static_cast<size_t>(w)][i]));
    result.statistics[tensors[i]] = std::move(stats[0][i]);
  }
  return result;
}

Result<CalibrationTable> Calibrate(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                   CalibrationDataReader& reader, const CalibrationSettings& settings,
                                   const ProgressCallback& progress, TableContent content) {
  ONNXQ_ASSIGN_OR_RETURN(auto calibrator, MakeCalibrator(settings));
  ONNXQ_ASSIGN_OR_RETURN(auto collected,
                         CollectStatistics(model, tensors, reader, *calibrator, settings.calibration, progress));
  std::set<std::string> model_inputs;
  for (const auto& input : model.graph().input()) model_inputs.insert(input.name());
  for (const auto& init : model.graph().initializer()) model_inputs.erase(init.name());
  return BuildCalibrationTable(collected.statistics, collected.samples, *calibrator, settings, model_inputs,
                               settings.calibration.threads, content);
}

}  // namespace onnxq
