// The --json reports of `quantize` and `calibrate`: one JSON object each, built from the library's
// report structs (nlohmann stays out of the public headers).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "onnxq/calibrate.h"
#include "onnxq/latency.h"
#include "onnxq/options.h"
#include "onnxq/quantize.h"
#include "onnxq/runnability.h"

namespace onnxq::cli {

// What a quantize run was asked and what it did. Non-finite numbers (an SQNR of +-inf) become null.
struct QuantizeRun {
  std::string input;
  std::string output;
  std::vector<std::string> calib_data;  // as given (PATH or NAME=PATH); empty: random data or a table
  std::string calib_table;              // empty: none
  const QuantizeOptions* options = nullptr;
  const QuantizeReport* report = nullptr;
  double seconds = 0;       // the whole command
  int64_t input_bytes = 0;  // the model files, external data included
  int64_t output_bytes = 0;
  const LatencyComparison* latency = nullptr;  // --benchmark
  int benchmark_passes = 0;
};

nlohmann::ordered_json QuantizeReportJson(const QuantizeRun& run);

// A latency comparison of `passes` timed passes (onnxq/latency.h), times in milliseconds.
nlohmann::ordered_json LatencyJson(const LatencyComparison& latency, int passes);

// The runnability report (onnxq/runnability.h): counts by class and op type, the float nodes between
// Q/DQ pairs.
nlohmann::ordered_json RunnabilityJson(const RunnabilityReport& report);

struct CalibrateRun {
  std::string input;
  std::string output;
  std::vector<std::string> calib_data;
  const CalibrationTable* table = nullptr;
  const QuantizeReport* report = nullptr;
  double seconds = 0;
};

nlohmann::ordered_json CalibrateReportJson(const CalibrateRun& run);

}  // namespace onnxq::cli
