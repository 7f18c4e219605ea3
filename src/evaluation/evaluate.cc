#include "evaluation/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>

#include "calibration/onnxruntime_backend.h"
#include "io/file_safety.h"

namespace onnxq {

Result<AccuracyReport> EvaluateClassifier(const onnx::ModelProto& model, CalibrationDataReader& reader,
                                          std::span<const int64_t> labels) {
  return EvaluateClassifier(OnnxRuntimeBackend(), model, reader, labels);
}

Result<AccuracyReport> EvaluateClassifier(const InferenceBackend& backend, const onnx::ModelProto& model,
                                          CalibrationDataReader& reader, std::span<const int64_t> labels) {
  ONNXQ_ASSIGN_OR_RETURN(auto session, backend.CreateSession(model, {}));
  if (session->outputs().empty()) return InvalidModel("the model has no outputs");
  const std::vector<std::string> output{session->outputs()[0].name};
  AccuracyReport report;
  int64_t hits1 = 0;
  int64_t hits5 = 0;
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    ONNXQ_ASSIGN_OR_RETURN(auto batch, reader.GetNext());
    if (!batch) break;
    ONNXQ_ASSIGN_OR_RETURN(const RunOutputs run, session->Run(*batch, output));
    const OutputView& scores = run[0];
    if (!scores.is_float || scores.shape.size() != 2) {
      return InvalidModel("output '" + output[0] + "' is not a float [N, classes] tensor of scores");
    }
    const int64_t n = scores.shape[0];
    const int64_t classes = scores.shape[1];
    std::vector<int64_t> order(static_cast<size_t>(classes));
    for (int64_t i = 0; i < n; ++i, ++report.samples) {
      if (report.samples >= static_cast<int64_t>(labels.size())) {
        return InvalidArgument("the labels cover " + std::to_string(labels.size()) + " samples but the data has more");
      }
      const auto row = scores.data.subspan(static_cast<size_t>(i * classes), static_cast<size_t>(classes));
      std::iota(order.begin(), order.end(), 0);
      const size_t k = std::min<size_t>(5, order.size());
      std::partial_sort(
          order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
          [&](int64_t a, int64_t b) { return row[static_cast<size_t>(a)] > row[static_cast<size_t>(b)]; });
      const int64_t label = labels[static_cast<size_t>(report.samples)];
      if (label < 0 || label >= classes) {
        return InvalidArgument("label " + std::to_string(label) + " of sample " + std::to_string(report.samples) +
                               " is not one of the model's " + std::to_string(classes) + " classes (0 to " +
                               std::to_string(classes - 1) + ")");
      }
      hits1 += order[0] == label ? 1 : 0;
      hits5 += std::find(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), label) !=
                       order.begin() + static_cast<std::ptrdiff_t>(k)
                   ? 1
                   : 0;
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report.samples == 0) return InvalidArgument("the evaluation data is empty");
  report.top1 = 100.0 * static_cast<double>(hits1) / static_cast<double>(report.samples);
  report.top5 = 100.0 * static_cast<double>(hits5) / static_cast<double>(report.samples);
  return report;
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
