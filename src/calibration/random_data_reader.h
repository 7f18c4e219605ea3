// Calibration data drawn uniformly at random, for when no data is given (UseRandomData). The ranges
// it produces say nothing about real inputs: callers warn that accuracy is meaningless.
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>
#include <string>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/options.h"

namespace onnxq {

struct RandomData {
  std::unique_ptr<CalibrationDataReader> reader;
  // One line for each integer input drawn from a default range (RandomDataOptions::input_ranges has
  // none for it), for the report.
  std::vector<std::string> warnings;
};

// Shapes come from RandomDataOptions::input_shapes, else from the model with dynamic dims set to 1; a
// scalar input gets a scalar. Float inputs are uniform in [low, high), integer and bool inputs uniform
// whole numbers in their range (RandomDataOptions says which). A tensor has a batch axis (counts
// samples) when its model input has rank >= 1 and a dynamic or 1 first dim; otherwise it is fed whole.
// Errors: an input of another element type, a range for an input the model lacks, and an integer
// range that is not whole numbers or does not fit the input's type.
Result<RandomData> MakeRandomDataReader(const onnx::ModelProto& model, const RandomDataOptions& options);

}  // namespace onnxq
