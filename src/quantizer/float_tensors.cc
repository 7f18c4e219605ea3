#include "quantizer/float_tensors.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>

#include "quantizer/decide_params.h"

namespace onnxq {
namespace {

// Ops whose output error, relative to the output, grows as the input gets small: the input index
// that does so, or -1.
int RelativeErrorInput(const onnx::NodeProto& node) {
  if (!node.domain().empty() && node.domain() != "ai.onnx") return -1;
  const std::string& op = node.op_type();
  if (op == "Log" || op == "Reciprocal") return 0;
  if (op == "Div") return 1;
  return -1;
}

// Ops through which a small value stays small (and a value rounded to 0 stays 0).
bool CarriesSmallValues(const std::string& op) {
  static const std::set<std::string> ops = {
      "Clip",    "Relu",      "Abs",       "Pow",        "Mul",       "Add",     "MatMul",
      "Gemm",    "Conv",      "ReduceSum", "ReduceMean", "ReduceMax", "MaxPool", "AveragePool",
      "Reshape", "Transpose", "Squeeze",   "Unsqueeze",  "Flatten",   "Slice",   "Gather",
      "Concat",  "Split",     "Expand",    "Tile",       "Identity",  "Max",     "Sqrt",
  };
  return ops.contains(op);
}

// Values LayerNormalization normalizes together, or 0 when unknown: the size of its constant Scale
// (which has the normalized shape), else the product of the input's static dims from `axis` on.
size_t NormalizedRow(const GraphView& graph, const onnx::NodeProto& node) {
  if (node.op_type() != "LayerNormalization" || (!node.domain().empty() && node.domain() != "ai.onnx") ||
      node.input_size() == 0) {
    return 0;
  }
  if (const auto* scale = node.input_size() > 1 ? graph.Initializer(node.input(1)) : nullptr; scale != nullptr) {
    size_t row = 1;
    for (const int64_t dim : scale->dims()) {
      if (dim <= 0 || dim > (int64_t{1} << 24)) return 0;
      row *= static_cast<size_t>(dim);
    }
    return row;
  }
  const auto shape = graph.Shape(node.input(0));
  if (!shape || shape->empty()) return 0;
  const auto rank = static_cast<int64_t>(shape->size());
  int64_t axis = AttrInt(node, "axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return 0;
  size_t row = 1;
  for (int64_t d = axis; d < rank; ++d) {
    const int64_t dim = (*shape)[static_cast<size_t>(d)];
    if (dim <= 0 || dim > (int64_t{1} << 24)) return 0;
    row *= static_cast<size_t>(dim);
  }
  return row;
}

}  // namespace

std::map<std::string, size_t> TensorsAheadOfRelativeErrorOps(const GraphView& graph,
                                                             const std::vector<std::string>& calibrated) {
  const std::set<std::string> wanted(calibrated.begin(), calibrated.end());
  std::map<std::string, size_t> found;
  // Walk upstream from `start` through the ops that carry small values on, a bounded number of
  // tensors; `row` as in MagnitudeRequest (a tensor reached twice keeps the larger).
  const auto walk = [&](const std::string& start, size_t row) {
    constexpr size_t kMaxTensors = 256;
    std::set<std::string> seen;
    std::deque<std::string> queue = {start};
    while (!queue.empty() && seen.size() < kMaxTensors) {
      const std::string tensor = queue.front();
      queue.pop_front();
      if (tensor.empty() || graph.IsInitializer(tensor) || !seen.insert(tensor).second) continue;
      if (wanted.contains(tensor)) found[tensor] = std::max(found[tensor], row);
      const int producer = graph.Producer(tensor);
      if (producer < 0 || !CarriesSmallValues(graph.graph().node(producer).op_type())) continue;
      for (const auto& in : graph.graph().node(producer).input()) queue.push_back(in);
    }
  };
  for (const auto& node : graph.graph().node()) {
    const int input = RelativeErrorInput(node);
    if (input < 0 || input >= node.input_size()) continue;
    // Log suffers from the values on average; one small divisor spoils its quotient alone.
    walk(node.input(input), node.op_type() == "Log" ? 0 : 1);
  }
  for (const auto& node : graph.graph().node()) {
    const size_t row = NormalizedRow(graph, node);
    if (row > 1 && wanted.contains(node.input(0))) found[node.input(0)] = std::max(found[node.input(0)], row);
  }
  return found;
}

std::map<std::string, std::string> FloatTensors(const std::map<std::string, TensorRange>& ranges,
                                                const std::map<std::string, MagnitudeHistogram>& magnitudes,
                                                const std::map<std::string, size_t>& rows,
                                                const QuantizeOptions& options) {
  std::map<std::string, std::string> reasons;
  for (const auto& [tensor, range] : ranges) {
    if (!std::isfinite(range.rmin) || !std::isfinite(range.rmax)) {
      reasons[tensor] = "'" + tensor + "' holds non-finite values in calibration (range [" +
                        std::to_string(range.rmin) + ", " + std::to_string(range.rmax) +
                        "]), which no integer grid can hold";
    }
  }
  for (const auto& [tensor, histogram] : magnitudes) {
    const auto range = ranges.find(tensor);
    if (range == ranges.end() || reasons.contains(tensor)) continue;
    const TensorQuant q = ActivationQuant(range->second, options);
    // Rows (a divisor's values, normalized rows): the least resolved one may be the one that matters
    // (a class token); values before Log: on average.
    const auto row = rows.find(tensor);
    const bool by_rows = row != rows.end() && row->second > 0;
    const bool normalized = by_rows && row->second > 1;
    const double db =
        by_rows ? WorstRelativeSqnrDb(histogram, q.params[0].scale) : RelativeSqnrDb(histogram, q.params[0].scale);
    if (db < kMinRelativeSqnrDb) {
      char text[32];
      std::snprintf(text, sizeof(text), "%.1f", db);
      if (normalized) {
        reasons[tensor] = "'" + tensor + "' has rows that LayerNormalization scales up whose spread is below the " +
                          std::string(QuantTypeName(q.type)) + " grid's step: relative SQNR " + text + " dB";
      } else {
        reasons[tensor] = "'" + tensor + "' spans too many octaves for " + std::string(QuantTypeName(q.type)) +
                          " ahead of an op that amplifies relative error (Log, Reciprocal, Div): relative SQNR " +
                          text + " dB";
      }
    }
  }
  return reasons;
}

}  // namespace onnxq
