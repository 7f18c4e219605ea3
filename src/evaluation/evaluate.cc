#include "evaluation/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>

#include "calibration/onnxruntime_backend.h"
#include "io/file_safety.h"

namespace onnxq {

Result<AccuracyReport> EvaluateClassifier(const onnx::ModelProto& model, CalibrationDataReader& reader,
                                          std::span<const int64_t> labels, const EvaluateOptions& options) {
  return EvaluateClassifier(OnnxRuntimeBackend(), model, reader, labels, options);
}

namespace {

// The top-k classes of `row`, best first, into `order` (k = min(5, classes)); returns k.
size_t TopClasses(std::span<const float> row, std::vector<int64_t>& order) {
  std::iota(order.begin(), order.end(), 0);
  const size_t k = std::min<size_t>(5, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](int64_t a, int64_t b) { return row[static_cast<size_t>(a)] > row[static_cast<size_t>(b)]; });
  return k;
}

}  // namespace

Result<AccuracyReport> EvaluateClassifier(const InferenceBackend& backend, const onnx::ModelProto& model,
                                          CalibrationDataReader& reader, std::span<const int64_t> labels,
                                          const EvaluateOptions& options) {
  ONNXQ_ASSIGN_OR_RETURN(auto session, backend.CreateSession(model, {}));
  if (session->outputs().empty()) return InvalidModel("the model has no outputs");
  const std::vector<std::string> output{session->outputs()[0].name};
  const bool given_labels = !labels.empty();
  const int64_t total = reader.SampleCount();
  AccuracyReport report;
  int64_t hits1 = 0;
  int64_t hits5 = 0;
  std::vector<int64_t> batch_labels;
  const auto labels_line_up = [&]() -> Status {
    if (!given_labels || reader.SkippedSamples() == 0) return Status::Ok();
    const int64_t skipped = reader.SkippedSamples();
    return InvalidArgument(std::to_string(skipped) + (skipped == 1 ? " sample" : " samples") +
                           " could not be read and " + (skipped == 1 ? "was" : "were") +
                           " skipped, so the labels no longer line up with the samples: fix or remove the files the "
                           "warnings name");
  };
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    ONNXQ_ASSIGN_OR_RETURN(auto batch, reader.GetNext());
    if (!batch) break;
    ONNXQ_RETURN_IF_ERROR(labels_line_up());
    if (!given_labels) {
      batch_labels = reader.BatchLabels();
      if (batch_labels.empty()) {
        return InvalidArgument(
            "the data carries no labels: give a labels file, or a folder of images in one sub-folder per class");
      }
    }
    const auto run_start = std::chrono::steady_clock::now();
    ONNXQ_ASSIGN_OR_RETURN(const RunOutputs run, session->Run(*batch, output));
    report.run_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
    ++report.batches;
    const OutputView& scores = run[0];
    if (!scores.is_float || scores.shape.size() != 2) {
      return InvalidModel("output '" + output[0] + "' is not a float [N, classes] tensor of scores");
    }
    const int64_t n = scores.shape[0];
    const int64_t classes = scores.shape[1];
    if (!given_labels && static_cast<int64_t>(batch_labels.size()) != n) {
      return Internal("the reader labelled " + std::to_string(batch_labels.size()) + " samples of a batch of " +
                      std::to_string(n));
    }
    std::vector<int64_t> order(static_cast<size_t>(classes));
    for (int64_t i = 0; i < n; ++i, ++report.samples) {
      if (given_labels && report.samples >= static_cast<int64_t>(labels.size())) {
        return InvalidArgument("the labels cover " + std::to_string(labels.size()) + " samples but the data has more");
      }
      const auto row = scores.data.subspan(static_cast<size_t>(i * classes), static_cast<size_t>(classes));
      const size_t k = TopClasses(row, order);
      const int64_t label =
          given_labels ? labels[static_cast<size_t>(report.samples)] : batch_labels[static_cast<size_t>(i)];
      if (label < 0 || label >= classes) {
        return InvalidArgument("label " + std::to_string(label) + " of sample " + std::to_string(report.samples) +
                               " is not one of the model's " + std::to_string(classes) + " classes (0 to " +
                               std::to_string(classes - 1) + ")");
      }
      report.predictions.push_back(order[0]);
      hits1 += order[0] == label ? 1 : 0;
      const auto top_end = order.begin() + static_cast<std::ptrdiff_t>(k);
      hits5 += std::find(order.begin(), top_end, label) != top_end ? 1 : 0;
    }
    if (options.progress) options.progress("evaluate", report.samples, total);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ONNXQ_RETURN_IF_ERROR(labels_line_up());
  report.skipped = reader.SkippedSamples();
  if (report.samples == 0) return InvalidArgument("the evaluation data is empty");
  report.top1 = 100.0 * static_cast<double>(hits1) / static_cast<double>(report.samples);
  report.top5 = 100.0 * static_cast<double>(hits5) / static_cast<double>(report.samples);
  return report;
}

Result<double> Top1Agreement(const AccuracyReport& reference, const AccuracyReport& other) {
  const auto& a = reference.predictions;
  const auto& b = other.predictions;
  if (a.size() != b.size() || a.empty()) {
    return InvalidArgument("top-1 agreement needs predictions on the same samples: " + std::to_string(a.size()) +
                           " against " + std::to_string(b.size()));
  }
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i] ? 1 : 0;
  return 100.0 * static_cast<double>(same) / static_cast<double>(a.size());
}

Result<std::vector<int64_t>> LoadLabels(const std::filesystem::path& path) {
  std::vector<int64_t> labels;
  if (path.extension() == ".npy") {
    ONNXQ_ASSIGN_OR_RETURN(const NpyHeader header, ReadNpyHeader(path));
    // One class index per sample: [N], or [N, 1]. One-hot rows or scores are not labels.
    const auto& shape = header.shape;
    if (shape.empty() || shape.size() > 2 || (shape.size() == 2 && shape[1] != 1)) {
      std::string dims;
      for (const int64_t d : shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
      return InvalidArgument("label file '" + path.string() + "' has shape [" + dims +
                             "]: expected one class index per sample, [N] or [N, 1] (one-hot rows: take their argmax)");
    }
    if (header.type != ElementType::kInt64 && header.type != ElementType::kInt32 &&
        header.type != ElementType::kUInt8) {
      return InvalidArgument("label file '" + path.string() + "' must hold integers (int64, int32 or uint8)");
    }
    ONNXQ_ASSIGN_OR_RETURN(auto reader,
                           OpenArrayFiles({{"labels", path, {}, ElementType::kFloat}}, {.batch_size = 1 << 16}));
    while (true) {
      ONNXQ_ASSIGN_OR_RETURN(auto batch, reader->GetNext());
      if (!batch) break;
      const Tensor& t = (*batch)[0];
      for (int64_t i = 0; i < t.element_count(); ++i) {
        const std::byte* at = t.bytes.data() + static_cast<size_t>(i) * ElementSize(header.type);
        int64_t label = 0;
        if (header.type == ElementType::kInt64) {
          std::memcpy(&label, at, sizeof(label));
        } else if (header.type == ElementType::kInt32) {
          int32_t value = 0;
          std::memcpy(&value, at, sizeof(value));
          label = value;
        } else {
          label = static_cast<uint8_t>(*at);
        }
        labels.push_back(label);
      }
    }
    if (labels.empty()) return InvalidArgument("label file '" + path.string() + "' is empty");
    return labels;
  }
  ONNXQ_ASSIGN_OR_RETURN(const std::string bytes, ReadWholeFile(path, "label file"));
  for (const char c : bytes) labels.push_back(static_cast<unsigned char>(c));
  if (labels.empty()) return InvalidArgument("label file '" + path.string() + "' is empty");
  return labels;
}

}  // namespace onnxq
