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

#include "calibration/batch_rewrite.h"
#include "calibration/calibrator.h"
#include "calibration/inference_backend.h"
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

// Running mean of a tensor's per-channel means, one run's means at a time weighted by its samples.
class ChannelMean {
 public:
  void Add(std::span<const float> run_means, int64_t samples) {
    if (sums_.empty()) sums_.assign(run_means.size(), 0.0);
    if (run_means.size() != sums_.size() || samples <= 0) {
      consistent_ = false;
      return;
    }
    for (size_t c = 0; c < sums_.size(); ++c)
      sums_[c] += static_cast<double>(run_means[c]) * static_cast<double>(samples);
    samples_ += samples;
  }
  void Merge(const ChannelMean& other) {
    if (other.samples_ == 0 && other.consistent_) return;
    if (samples_ == 0 && consistent_) {
      *this = other;
      return;
    }
    if (other.sums_.size() != sums_.size() || !other.consistent_) {
      consistent_ = false;
      return;
    }
    for (size_t c = 0; c < sums_.size(); ++c) sums_[c] += other.sums_[c];
    samples_ += other.samples_;
  }
  // Empty when no run was added or runs disagreed on the channel count.
  std::vector<float> Mean() const {
    std::vector<float> mean;
    if (!consistent_ || samples_ == 0) return mean;
    for (const double sum : sums_) {
      const double m = sum / static_cast<double>(samples_);
      if (!std::isfinite(m)) return {};
      mean.push_back(static_cast<float>(m));
    }
    return mean;
  }

 private:
  std::vector<double> sums_;
  int64_t samples_ = 0;
  bool consistent_ = true;
};

// One worker's statistics, per observed tensor: the calibrator's statistic and a magnitude histogram
// for the tensors that need one (null for the others) with its row size (0: every value); for the
// reductions added to measure channel means, their running mean alone.
struct WorkerStatistics {
  std::vector<std::unique_ptr<TensorStatistic>> statistics;
  std::vector<std::unique_ptr<MagnitudeHistogram>> magnitudes;
  std::vector<size_t> rows;
  std::vector<std::unique_ptr<ChannelMean>> means;
};

// Hands each observed tensor to its statistics.
class StatisticsObserver final : public TensorObserver {
 public:
  explicit StatisticsObserver(WorkerStatistics& statistics) : statistics_(statistics) {}
  // The samples of the run about to start (weights its channel means).
  void BeginRun(int64_t samples) { run_samples_ = samples; }
  void Observe(size_t index, std::span<const float> values) override {
    values_seen_ += values.size();
    if (ChannelMean* mean = statistics_.means[index].get(); mean != nullptr) {
      mean->Add(values, run_samples_);
      return;
    }
    statistics_.statistics[index]->Collect(values);
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
  int64_t run_samples_ = 1;
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

  void Observe(size_t index, std::span<const float> values) override {
    auto& mine = summaries[index].emplace();
    if (values.size() % batch_ == 0) {  // else the sample count differs: no summaries, no match
      const size_t per_sample = values.size() / batch_;
      for (size_t p = 0; p < summarized_; ++p) mine.push_back(Summarize(values.subspan(p * per_sample, per_sample)));
    }
    if (next_ != nullptr) next_->Observe(index, values);
  }

  std::vector<std::optional<std::vector<SampleSummary>>> summaries;  // nullopt: not handed over

 private:
  size_t batch_;
  size_t summarized_;
  TensorObserver* next_;
};

// Runs `batch` whole into `statistics` and its first samples one by one (on another thread when
// `concurrently`); true when every tensor of each of those samples agrees between the two. When not,
// `statistics` are to be discarded. Only the first `tensors` observed tensors are compared (not the
// added channel means, which are means of the whole run). The whole run's graph outputs named in
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
    other.emplace(run_singles);
  } else {
    run_singles();
  }
  statistics.BeginRun(SamplesIn(batch));
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

// The nodes that reduce each requested tensor to its mean per channel over a run ([channels]), the
// tensors reduced and the reductions' outputs, in the same order.
struct ChannelMeanNodes {
  std::vector<onnx::NodeProto> nodes;
  std::vector<std::string> tensors;
  std::vector<std::string> outputs;
};

ChannelMeanNodes MakeChannelMeanNodes(const onnx::ModelProto& model, const ChannelMeanRequest& request) {
  ChannelMeanNodes made;
  if (request.tensors.empty()) return made;
  const auto& graph = model.graph();
  std::map<std::string, int> ranks;
  std::set<std::string> names;
  for (const auto* list : {&graph.input(), &graph.value_info(), &graph.output()}) {
    for (const auto& value : *list) {
      names.insert(value.name());
      if (value.type().has_tensor_type() && value.type().tensor_type().has_shape()) {
        ranks[value.name()] = value.type().tensor_type().shape().dim_size();
      }
    }
  }
  for (const auto& node : graph.node()) {
    for (const auto& out : node.output()) names.insert(out);
  }
  for (const auto& init : graph.initializer()) names.insert(init.name());
  const auto unique = [&](const std::string& base) {
    std::string name = base;
    for (int i = 1; names.contains(name); ++i) name = base + "_" + std::to_string(i);
    names.insert(name);
    return name;
  };
  const bool axes_as_input = DefaultOpset(model) >= 18;
  // ReduceMean over `axes`, without keeping them.
  const auto reduce_mean = [&](const std::string& input, const std::vector<int64_t>& axes, const std::string& output) {
    onnx::NodeProto node;
    node.set_op_type("ReduceMean");
    node.set_name(unique(output + "_node"));
    node.add_input(input);
    node.add_output(output);
    auto* keepdims = node.add_attribute();
    keepdims->set_name("keepdims");
    keepdims->set_type(onnx::AttributeProto::INT);
    keepdims->set_i(0);
    if (axes_as_input) {
      onnx::NodeProto constant;
      constant.set_op_type("Constant");
      const std::string axes_name = unique(output + "_axes");
      constant.set_name(unique(axes_name + "_node"));
      constant.add_output(axes_name);
      auto* value = constant.add_attribute();
      value->set_name("value_ints");
      value->set_type(onnx::AttributeProto::INTS);
      for (const int64_t a : axes) value->add_ints(a);
      made.nodes.push_back(std::move(constant));
      node.add_input(axes_name);
    } else {
      auto* attr = node.add_attribute();
      attr->set_name("axes");
      attr->set_type(onnx::AttributeProto::INTS);
      for (const int64_t a : axes) attr->add_ints(a);
    }
    made.nodes.push_back(std::move(node));
  };
  for (const auto& [tensor, axis] : request.tensors) {
    const auto it = ranks.find(tensor);
    if (it == ranks.end() || it->second < 2) continue;
    const int rank = it->second;
    const std::string output = unique(tensor + "_onnxq_channel_mean");
    std::vector<int64_t> axes;
    if (axis == ChannelAxis::kSecond && rank >= 3) {
      // Pooled where the engine computes the tensor (a blocked layout stays blocked), then [N, C, 1...] -> [C].
      onnx::NodeProto pool;
      pool.set_op_type("GlobalAveragePool");
      const std::string pooled = unique(tensor + "_onnxq_channel_pool");
      pool.set_name(unique(pooled + "_node"));
      pool.add_input(tensor);
      pool.add_output(pooled);
      made.nodes.push_back(std::move(pool));
      for (int d = 0; d < rank; ++d) {
        if (d != 1) axes.push_back(d);
      }
      reduce_mean(pooled, axes, output);
    } else {
      const int channel = axis == ChannelAxis::kSecond ? 1 : rank - 1;
      for (int d = 0; d < rank; ++d) {
        if (d != channel) axes.push_back(d);
      }
      reduce_mean(tensor, axes, output);
    }
    made.tensors.push_back(tensor);
    made.outputs.push_back(output);
  }
  return made;
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

Result<CollectedStatistics> CollectStatistics(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                              CalibrationDataReader& reader, const Calibrator& calibrator,
                                              const CalibrationOptions& options, const ProgressCallback& progress,
                                              const std::map<std::string, size_t>& magnitude_tensors,
                                              const ChannelMeanRequest& means, const RunCapture& capture) {
  // Workers run whole batches in parallel, each with a single-threaded session run and statistics
  // of its own; the statistics are merged at the end. Merging is exact and independent of order for
  // every statistic except a moving average, which therefore runs on one worker.
  int workers =
      options.threads > 0 ? options.threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  if (options.moving_average) workers = 1;
  const std::optional<int64_t> bytes_per_sample = BytesPerSample(model, tensors);
  const bool large_runs = bytes_per_sample && *bytes_per_sample > kParallelRunMaxBytes;
  if (large_runs) workers = 1;
  // Without shapes, the first batch runs alone and its observed tensors decide (below); its session
  // then runs on every core, in case one worker is all the memory allows.
  const bool probe = !bytes_per_sample && workers > 1;
  // The tensors are only summarized, so the runtime may hand them over in its internal layout. The
  // channel means follow the calibrated tensors in the observed list.
  ChannelMeanNodes mean_nodes = MakeChannelMeanNodes(model, means);
  std::vector<std::string> observed = tensors;
  observed.insert(observed.end(), mean_nodes.outputs.begin(), mean_nodes.outputs.end());
  const SessionOptions session_options{.intra_op_threads = workers > 1 && !probe ? 1 : 0,
                                       .allow_spinning = false,
                                       .memory_pattern = !probe && !large_runs,
                                       .observed = observed,
                                       .added_nodes = std::move(mean_nodes.nodes)};
  std::unique_ptr<InferenceSession> session;
  bool rewritten = false;  // the session runs the model with a symbolic batch, not as given
  RunKeeper keeper(capture);
  // The graph outputs kept with the runs RunCapture asks for.
  std::vector<bool> batch_of_one;
  std::vector<std::string> kept_outputs;
  int64_t model_batch = -1;
  const auto new_statistics = [&] {
    WorkerStatistics per_worker;
    for (const auto& tensor : tensors) {
      per_worker.statistics.push_back(calibrator.NewStatistic());
      const auto wanted = magnitude_tensors.find(tensor);
      const bool counted = wanted != magnitude_tensors.end();
      per_worker.magnitudes.push_back(counted ? std::make_unique<MagnitudeHistogram>() : nullptr);
      per_worker.rows.push_back(counted ? wanted->second : 0);
      per_worker.means.push_back(nullptr);
    }
    for (size_t m = 0; m < mean_nodes.outputs.size(); ++m) {
      per_worker.statistics.push_back(nullptr);
      per_worker.magnitudes.push_back(nullptr);
      per_worker.rows.push_back(0);
      per_worker.means.push_back(std::make_unique<ChannelMean>());
    }
    return per_worker;
  };
  std::vector<WorkerStatistics> stats(static_cast<size_t>(workers));
  for (auto& per_worker : stats) per_worker = new_statistics();
  // Samples a run when the batch axis is dynamic (0: as the reader batches them).
  int64_t run_batch = 0;
  if (options.batch_size <= 0 && !StatisticsArePerBatch(options)) {
    if (bytes_per_sample && *bytes_per_sample > 0)
      run_batch = std::max<int64_t>(1, kRunOutputBytes / *bytes_per_sample);
  }
  std::vector<Feeds> pending;      // read and validated, in order, before the workers start
  int64_t first_samples_done = 0;  // samples the check ran, into the first worker's statistics
  // A fixed batch of 1 with larger batches from the reader: run them whole if the graph is
  // batch-independent, which the first batch must show. With a batch of 1 the symbolic-batch model
  // computes exactly what the model as given does, so one session serves both sides of the check.
  if (HasFixedBatchOfOne(model)) {
    ONNXQ_ASSIGN_OR_RETURN(auto first, reader.GetNext());
    bool split = false;  // `first` went into `pending`
    const auto has_batch_axis = [](const Tensor& t) { return t.batch_axis; };
    if (first && !first->empty() && std::all_of(first->begin(), first->end(), has_batch_axis) &&
        SamplesIn(*first) > 1) {
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
        const int64_t wanted = keeper.Wanted(pending.front(), 0);
        if (wanted > 0) kept_outputs = FloatOutputs(**batched, model, batch_of_one);
        RunOutputs outputs;
        auto whole = RunWholeIfItMatchesSingleRuns(**batched, pending.front(), tensors.size(), observed.size(), into,
                                                   workers > 1, kept_outputs, outputs);
        if (whole.ok() && *whole) {
          session = std::move(*batched);
          rewritten = true;
          if (wanted > 0) keeper.KeepSamples(0, pending.front(), wanted, outputs, batch_of_one);
          first_samples_done = SamplesIn(pending.front());
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
      first_sample += SamplesIn(piece);
    }
  }
  if (model_batch > 0) run_batch = 0;
  // A run of a dynamic batch that straddles the samples RunCapture asks for is cut there, unless the
  // statistics count runs (per-batch statistics see the reader's batches whole).
  const bool cut_at_capture = model_batch <= 0 && !StatisticsArePerBatch(options);
  kept_outputs = FloatOutputs(*session, model, batch_of_one);

  const int64_t total = options.max_samples >= 0 && reader.SampleCount() >= 0
                            ? std::min(options.max_samples, reader.SampleCount())
                            : (options.max_samples >= 0 ? options.max_samples : reader.SampleCount());
  std::mutex mutex;  // guards reader, pending, counters, first_error and progress
  int64_t samples_read = first_samples_done;
  int64_t samples_done = first_samples_done;
  Status first_error;
  bool exhausted = false;
  if (samples_done > 0 && progress) progress("calibrate", samples_done, total);

  // Runs batches into `mine` until the data ends, an error, or `max_batches` (-1: no limit).
  auto work = [&](StatisticsObserver& mine, int64_t max_batches) {
    for (int64_t b = 0; max_batches < 0 || b < max_batches; ++b) {
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
        samples_read += SamplesIn(*batch);
      }
      Status status = validated ? Status::Ok() : ValidateFeeds(*batch, session->inputs(), first_sample);
      int64_t done = 0;
      if (status.ok()) {
        auto pieces = model_batch > 0 ? SplitBatch(std::move(*batch), model_batch)
                                      : Result<std::vector<Feeds>>(SplitBatchAtMost(std::move(*batch), run_batch));
        status = pieces.status();
        if (status.ok() && cut_at_capture) *pieces = keeper.CutAtLimit(std::move(*pieces), first_sample);
        for (size_t p = 0; status.ok() && p < pieces->size(); ++p) {
          const Feeds& feeds = (*pieces)[p];
          mine.BeginRun(SamplesIn(feeds));
          const int64_t first = first_sample + done;
          const int64_t wanted = keeper.Wanted(feeds, first);
          if (wanted > 0) {
            auto run = session->RunObserved(feeds, mine, kept_outputs);
            status = run.status();
            if (status.ok() && !rewritten) keeper.Keep(first, feeds, *run);
            if (status.ok() && rewritten) keeper.KeepSamples(first, feeds, wanted, *run, batch_of_one);
          } else {
            status = session->RunObserved(feeds, mine);
          }
          if (!status.ok()) break;
          done += SamplesIn(feeds);
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
  std::vector<std::unique_ptr<StatisticsObserver>> observers;
  for (auto& per_worker : stats) observers.push_back(std::make_unique<StatisticsObserver>(per_worker));
  if (probe) {
    const int64_t before = samples_done;
    work(*observers[0], 1);
    const int64_t samples = samples_done - before;
    const auto bytes = static_cast<int64_t>(observers[0]->values_seen() * sizeof(float));
    if (samples > 0 && bytes / samples > kParallelRunMaxBytes) workers = 1;
  }
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) {
    try {
      threads.emplace_back(work, std::ref(*observers[static_cast<size_t>(w)]), -1);
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the workers started do the work
    }
  }
  work(*observers[0], -1);
  for (auto& t : threads) t.join();
  ONNXQ_RETURN_IF_ERROR(first_error);
  if (samples_done == 0) return InvalidArgument("the calibration data reader produced no samples");

  keeper.Finish(std::move(kept_outputs));
  CollectedStatistics result;
  result.samples = samples_done;
  for (size_t i = 0; i < tensors.size(); ++i) {
    for (int w = 1; w < workers; ++w) {
      const WorkerStatistics& other = stats[static_cast<size_t>(w)];
      ONNXQ_RETURN_IF_ERROR(stats[0].statistics[i]->Merge(*other.statistics[i]));
      if (stats[0].magnitudes[i] != nullptr) stats[0].magnitudes[i]->Merge(*other.magnitudes[i]);
    }
    result.statistics[tensors[i]] = std::move(stats[0].statistics[i]);
    if (stats[0].magnitudes[i] != nullptr) result.magnitudes[tensors[i]] = *stats[0].magnitudes[i];
  }
  for (size_t m = 0; m < mean_nodes.tensors.size(); ++m) {
    const size_t i = tensors.size() + m;
    for (int w = 1; w < workers; ++w) stats[0].means[i]->Merge(*stats[static_cast<size_t>(w)].means[i]);
    auto mean = stats[0].means[i]->Mean();
    if (!mean.empty()) result.channel_means[mean_nodes.tensors[m]] = std::move(mean);
  }
  return result;
}

Result<CalibrationTable> Calibrate(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                   CalibrationDataReader& reader, const CalibrationSettings& settings,
                                   const ProgressCallback& progress, TableContent content,
                                   const MagnitudeRequest& magnitudes, const ChannelMeanRequest& means,
                                   const RunCapture& capture) {
  ONNXQ_ASSIGN_OR_RETURN(auto calibrator, MakeCalibrator(settings));
  ONNXQ_ASSIGN_OR_RETURN(auto collected, CollectStatistics(model, tensors, reader, *calibrator, settings.calibration,
                                                           progress, magnitudes.tensors, means, capture));
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
