// The pipeline: load -> prepare -> calibrate -> decide -> materialize -> write.
#include "onnxq/quantize.h"

#include <onnx/checker.h>

#include <chrono>

#include "calibration/collect_statistics.h"
#include "calibration/random_data_reader.h"
#include "ir/graph_view.h"
#include "pipeline/prepare_model.h"
#include "quantizer/decide_params.h"
#include "quantizer/mark_nodes.h"
#include "quantizer/materialize_qdq.h"

namespace onnxq {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Status CheckOptions(const QuantizeOptions& options) {
  if (options.quant_format != QuantFormat::kQDQ) return Unsupported("only the QDQ format is available yet");
  for (const QuantType t : {options.activation_type, options.weight_type}) {
    if (t != QuantType::kInt8 && t != QuantType::kUInt8) {
      return Unsupported(std::string("type ") + std::string(QuantTypeName(t)) +
                         " is not available yet; use QInt8 or QUInt8");
    }
  }
  if (options.activation_type == QuantType::kInt8 && options.weight_type == QuantType::kUInt8) {
    return InvalidArgument("activation QInt8 with weight QUInt8 is not supported by ONNX Runtime kernels; use QInt8 weights");
  }
  return Status::Ok();
}

// Asymmetric activations with float scales clip to [min(rmin, 0), max(rmax, 0)] exactly, which is what
// a Relu or a Clip(lo <= 0, hi >= 0) output already spans: folding them cannot fail.
bool FoldsAreCertain(const QuantizeOptions& options) {
  const CalibrationMethod m = options.calibration.method;
  return !options.activation_symmetric && m != CalibrationMethod::kNonOverflow && m != CalibrationMethod::kMinMSE;
}

}  // namespace

Result<onnx::ModelProto> QuantizeModel(const onnx::ModelProto& input, CalibrationDataReader* reader,
                                       const QuantizeOptions& options, QuantizeReport* report,
                                       const ProgressCallback& progress) {
  QuantizeReport local_report;
  QuantizeReport& rep = report != nullptr ? *report : local_report;
  ONNXQ_RETURN_IF_ERROR(CheckOptions(options));

  auto start = Clock::now();
  onnx::ModelProto model = input;
  ONNXQ_ASSIGN_OR_RETURN(const PrepareReport prepared,
                         PrepareModel(model, {.min_opset = options.per_channel ? 13 : 10}));
  for (const auto& note : prepared.notes) rep.warnings.push_back(note);
  GraphView graph(model.mutable_graph());
  ONNXQ_ASSIGN_OR_RETURN(QuantPlan plan, MarkNodes(graph, options));
  rep.seconds_prepare = SecondsSince(start);

  start = Clock::now();
  std::unique_ptr<CalibrationDataReader> random_reader;
  if (reader == nullptr) {
    ONNXQ_ASSIGN_OR_RETURN(random_reader, MakeRandomDataReader(model, options.random_data));
    reader = random_reader.get();
    rep.warnings.push_back("no calibration data: calibrated on random data, so the accuracy of the result means nothing");
  }
  CalibrationOptions calibration = options.calibration;
  if (!calibration.range_symmetric) calibration.range_symmetric = DefaultRangeSymmetric(calibration.method);
  ONNXQ_ASSIGN_OR_RETURN(const CalibrationTable table,
                         Calibrate(model, TensorsToCalibrate(plan, FoldsAreCertain(options)), *reader, calibration,
                                   progress));
  rep.calibration_samples = table.samples;
  rep.seconds_calibrate = SecondsSince(start);

  start = Clock::now();
  ONNXQ_RETURN_IF_ERROR(DecideParams(graph, table.ranges, options, &plan));
  rep.nodes_total = model.graph().node_size();
  for (const auto& [index, reason] : plan.left_float) {
    const auto& node = model.graph().node(index);
    rep.left_float.push_back({NodeLabel(node, index), node.op_type(), reason});
  }
  rep.nodes_quantized = static_cast<int64_t>(plan.marks.size());
  for (const auto& [name, q] : plan.tensors) {
    if (q.role == TensorRole::kActivation) ++rep.activations_quantized;
    if (q.role == TensorRole::kWeight) ++rep.weights_quantized;
  }
  ONNXQ_RETURN_IF_ERROR(MaterializeQdq(plan, &model));
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return Internal(std::string("the quantized model fails the ONNX checker: ") + e.what());
  }
  rep.seconds_quantize = SecondsSince(start);
  return model;
}

Result<QuantizeReport> QuantizeStatic(const std::filesystem::path& model_input, const std::filesystem::path& model_output,
                                      CalibrationDataReader* reader, const QuantizeOptions& options,
                                      const ProgressCallback& progress) {
  ONNXQ_ASSIGN_OR_RETURN(const onnx::ModelProto model, LoadModel(model_input));
  QuantizeReport report;
  ONNXQ_ASSIGN_OR_RETURN(const onnx::ModelProto quantized, QuantizeModel(model, reader, options, &report, progress));
  ONNXQ_RETURN_IF_ERROR(SaveModel(quantized, model_output, options.save));
  return report;
}

}  // namespace onnxq
