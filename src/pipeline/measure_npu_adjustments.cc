#include "pipeline/measure_npu_adjustments.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "algorithms/sqnr.h"
#include "quantizer/refine_npu_positions.h"

namespace onnxq {
namespace {

constexpr size_t kMeasuredRuns = 2;

// Fills the adjustment's SQNRs from the calibration histogram's; false when its range lacks either.
bool FromCalibration(const std::map<std::string, TensorRange>& ranges, NpuAdjustment& adjustment) {
  const auto range = ranges.find(adjustment.tensor);
  if (range == ranges.end()) return false;
  const auto& by_pos = range->second.sqnr_db_by_pos;
  const auto old_sqnr = by_pos.find(adjustment.old_pos);
  const auto new_sqnr = by_pos.find(adjustment.new_pos);
  if (old_sqnr == by_pos.end() || new_sqnr == by_pos.end()) return false;
  adjustment.old_sqnr_db = old_sqnr->second;
  adjustment.new_sqnr_db = new_sqnr->second;
  return true;
}

}  // namespace

Status MeasureActivationAdjustments(const InferenceBackend& backend, const onnx::ModelProto& float_model,
                                    const std::map<std::string, TensorRange>& ranges, const ReferenceRuns& runs,
                                    const QuantPlan& plan, NpuRefinementReport* report) {
  std::vector<std::string> tensors;  // measured on the check runs
  std::set<std::string> seen;
  for (NpuAdjustment& a : report->adjustments) {
    const auto it = plan.tensors.find(a.tensor);
    if (it == plan.tensors.end() || it->second.role != TensorRole::kActivation) continue;
    if (FromCalibration(ranges, a)) continue;
    if (seen.insert(a.tensor).second) tensors.push_back(a.tensor);
  }
  if (tensors.empty() || runs.runs.empty()) return Status::Ok();
  onnx::ModelProto exposed = float_model;
  std::set<std::string> outputs;
  for (const auto& output : exposed.graph().output()) outputs.insert(output.name());
  for (const auto& name : tensors) {
    if (outputs.insert(name).second) exposed.mutable_graph()->add_output()->set_name(name);  // type inferred
  }
  auto session =
      backend.CreateSession(exposed, {.optimize_graph = false, .allow_spinning = false, .memory_pattern = false});
  if (!session.ok()) return Status::Ok();  // not measured: the report keeps NaN
  std::map<std::string, size_t> index;     // tensor -> its place among the session's outputs
  for (size_t t = 0; t < tensors.size(); ++t) index[tensors[t]] = t;
  // Per adjustment: the tensor's sums at its old and its new position.
  std::vector<SqnrSums> old_sums(report->adjustments.size());
  std::vector<SqnrSums> new_sums(report->adjustments.size());
  // The first runs only: a session of the whole float model is the cost, and a few samples tell the
  // effect of a position on a tensor's grid.
  const size_t measured_runs = std::min(runs.runs.size(), kMeasuredRuns);
  for (size_t r = 0; r < measured_runs; ++r) {
    const ReferenceRun& run = runs.runs[r];
    auto values = (*session)->Run(run.feeds, tensors);
    if (!values.ok()) return Status::Ok();
    for (size_t a = 0; a < report->adjustments.size(); ++a) {
      const NpuAdjustment& adjustment = report->adjustments[a];
      const auto it = index.find(adjustment.tensor);
      if (it == index.end()) continue;
      const TensorQuant& q = plan.tensors.at(adjustment.tensor);
      const auto& data = (*values)[it->second].data;
      AddQuantizedAtPosition(data, q, adjustment.old_pos, &old_sums[a]);
      AddQuantizedAtPosition(data, q, adjustment.new_pos, &new_sums[a]);
    }
  }
  for (size_t a = 0; a < report->adjustments.size(); ++a) {
    if (old_sums[a].values == 0) continue;
    report->adjustments[a].old_sqnr_db = old_sums[a].SqnrDb();
    report->adjustments[a].new_sqnr_db = new_sums[a].SqnrDb();
  }
  return Status::Ok();
}

}  // namespace onnxq
