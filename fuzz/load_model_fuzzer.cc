// Model bytes -> ParseModel -> PrepareQuantization: the checks and graph passes onnxq runs on a model
// before calibration (opset, IR version, passes, shape inference, the ONNX checker, node marking), then
// what the pipeline derives from the prepared model before it creates an ONNX Runtime session.
//
// The options follow the input's length, so an input always takes the same path: odd lengths quantize
// per channel (opset 13 wanted), lengths with bit 1 set also run the optional passes (convert_bn_to_conv,
// replace_clip6_with_relu, equalize_cross_layer, absorb_high_bias).
#include "calibration/random_data_reader.h"
#include "fuzz_support.h"
#include "ir/graph_view.h"
#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"
#include "pipeline/prepare_quantization.h"
#include "quantizer/correct_weight_error_bias.h"
#include "quantizer/float_tensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto model = onnxq::ParseModel(onnxq::fuzz::AsText(data, size), "fuzz.onnx");
  if (!model.ok()) return 0;
  onnxq::QuantizeOptions options;
  options.per_channel = (size & 1U) != 0;
  if ((size & 2U) != 0) {
    options.passes.convert_bn_to_conv = true;
    options.passes.replace_clip6_relu = true;
    options.passes.include_cle = true;
    options.passes.high_bias_absorption = true;
  }
  (void)onnxq::ModelInputsOf(*model);  // what the CLI matches .npz data against
  auto prepared = onnxq::PrepareQuantization(*model, options);
  if (!prepared.ok()) return 0;
  const onnxq::GraphView graph(prepared->model.mutable_graph());
  (void)onnxq::TensorsAheadOfRelativeErrorOps(graph, prepared->tensors);
  (void)onnxq::MeanBiasInputs(graph, prepared->plan);
  (void)onnxq::MakeRandomDataReader(prepared->model, options.random_data);  // calibration without data
  return 0;
}
