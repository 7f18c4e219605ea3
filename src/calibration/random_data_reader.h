// Calibration data drawn uniformly at random, for when no data is given (UseRandomData). The ranges
// it produces say nothing about real inputs: callers warn that accuracy is meaningless.
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>

#include "onnxq/data_reader.h"
#include "onnxq/options.h"

namespace onnxq {

// Shapes come from RandomDataOptions::input_shapes, else from the model with dynamic dims set to 1.
Result<std::unique_ptr<CalibrationDataReader>> MakeRandomDataReader(const onnx::ModelProto& model,
                                                                    const RandomDataOptions& options);

}  // namespace onnxq
