// What the onnxq command line reports: the output check's warnings, --json, the runtime's log lines
// only with --verbose, and byte-identical reruns.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"
#include "testing/npz_writer.h"
#include "testing/test_support.h"

#include "cli_fixture.h"

namespace onnxq {
namespace {

// ONNX Runtime's own log lines reach stderr only with --verbose, one line each and marked as the
// runtime's; without it stderr stays empty on success. The runtime warns about an initializer no node
// reads (it drops it).
TEST_F(CliTest, RuntimeWarningsOnlyWithVerbose) {
  const fs::path model = work_ / "unused_initializer.onnx";
  ASSERT_TRUE(SaveModel(testing::ParseModelText(R"(
      <ir_version: 8, opset_import: ["" : 13]>
      g (float[N, 4] x) => (float[N, 4] y)
      <float[4, 4] w = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, float[3] unused = {1, 2, 3}>
      {
        y = MatMul(x, w)
      }
    )"),
                        model)
                  .ok());
  const CliRun quiet = RunCli({"quantize", model.string(), Output()}, logs_);
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
  for (const auto& args : {std::vector<std::string>{"quantize", model.string(), Output(), "--verbose"},
                           std::vector<std::string>{"-v", "quantize", model.string(), Output()}}) {
    const CliRun verbose = RunCli(args, logs_);
    EXPECT_EQ(verbose.exit_code, 0) << verbose.err;
    EXPECT_NE(verbose.err.find("onnxq: onnxruntime warning: Removing initializer 'unused'. It is not used by any "
                               "node and should be removed from the model.\n"),
              std::string::npos)
        << verbose.err;
    std::istringstream lines(verbose.err);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_TRUE(line.starts_with("onnxq: onnxruntime warning: ")) << line;
      EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    }
  }
}

TEST_F(CliTest, LowOutputSqnrIsAWarningOnStderr) {
  const std::vector<std::string> base = {"quantize", Input("two_outputs.onnx").string(), Output(), "--calib-data",
                                         Input("x_16x1.npy").string()};
  const std::string warning =
      "onnxq: warning: output 'small': SQNR 0.0 dB (cosine 0.0000) against the float model on 8 calibration samples, "
      "below 10 dB";
  CliRun run = RunCli(base, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.starts_with(warning)) << run.err;
  EXPECT_NE(run.err.find("try --per-channel"), std::string::npos) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;  // not for `big`
  EXPECT_NE(run.out.find("  output SQNR       float vs quantized on 8 calibration samples\n"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("    small  0.0 dB, cosine 0.0000  below 10 dB (see the warning)\n"), std::string::npos)
      << run.out;
  EXPECT_EQ(run.out.find("note: output 'small'"), std::string::npos) << run.out;  // on stderr only
  // --quiet silences the summary, not the warning.
  std::vector<std::string> args = base;
  args.emplace_back("-q");
  run = RunCli(args, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_TRUE(run.err.starts_with(warning)) << run.err;
  // A threshold below 0 dB: no warning.
  args = base;
  args.insert(args.end(), {"--extra-option", "OutputCheckSqnrThreshold=-1"});
  run = RunCli(args, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_NE(run.out.find("    small  0.0 dB, cosine 0.0000\n"), std::string::npos) << run.out;
  // The check turned off: nothing measured, nothing said but that.
  args = base;
  args.insert(args.end(), {"--extra-option", "OutputCheckSamples=0"});
  run = RunCli(args, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_NE(run.out.find("  output SQNR       not checked (OutputCheckSamples=0)\n"), std::string::npos) << run.out;
}

TEST_F(CliTest, JsonReportNamesEveryNodeLeftFloatWithItsReason) {
  const CliRun run = RunCli({"quantize", Model(), Output(), "--calib-data", Calib(), "--calib-data-size", "16",
                             "--nodes-to-exclude", "/classifier/Gemm", "--per-channel", "--json"},
                            logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  const auto json = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << run.out;
  EXPECT_EQ(json["command"], "quantize");
  EXPECT_EQ(json["input"], Model());
  EXPECT_EQ(json["output"], Output());
  EXPECT_EQ(json["calibration"]["data"], nlohmann::json::array({Calib()}));
  EXPECT_TRUE(json["calibration"]["table"].is_null());
  EXPECT_EQ(json["calibration"]["samples"], 16);
  EXPECT_EQ(json["options"]["quant_format"], "QDQ");
  EXPECT_EQ(json["options"]["calibrate_method"], "MinMax");
  EXPECT_EQ(json["options"]["activation_type"], "QUInt8");
  EXPECT_EQ(json["options"]["weight_type"], "QInt8");
  EXPECT_EQ(json["options"]["per_channel"], true);
  EXPECT_EQ(json["nodes"]["total"], 61);
  // 40 without the excluded Gemm; the Flatten ahead of it, which only the float Gemm reads, stays float too.
  EXPECT_EQ(json["nodes"]["quantized"], 38);
  EXPECT_EQ(json["nodes"]["left_float"], 2);
  ASSERT_EQ(json["left_float"].size(), 2U);
  EXPECT_EQ(json["left_float"][0],
            nlohmann::json({{"node", "/Flatten"},
                            {"op_type", "Flatten"},
                            {"reason",
                             "only float nodes or the graph's outputs read it: a QuantizeLinear after Flatten would "
                             "be dequantized right away"}}));
  EXPECT_EQ(json["left_float"][1],
            nlohmann::json(
                {{"node", "/classifier/Gemm"}, {"op_type", "Gemm"}, {"reason", "excluded by --nodes-to-exclude"}}));
  EXPECT_EQ(json["float_tensors"], nlohmann::json::array());
  const auto& check = json["output_check"];
  EXPECT_EQ(check["samples"], 8);
  EXPECT_EQ(check["data"], "calibration");
  EXPECT_EQ(check["sqnr_threshold_db"], 10.0);
  ASSERT_EQ(check["outputs"].size(), 1U);
  EXPECT_EQ(check["outputs"][0]["name"], "logits");
  EXPECT_EQ(check["outputs"][0]["values"], 80);  // 8 samples x 10 classes
  EXPECT_GT(check["outputs"][0]["sqnr_db"].get<double>(), 20.0);
  EXPECT_GT(check["outputs"][0]["cosine"].get<double>(), 0.99);
  EXPECT_EQ(check["outputs"][0]["below_threshold"], false);
  // ONNX Runtime fuses every quantized node group; the float Flatten ahead of the excluded Gemm reads the
  // dequantized tensor.
  const auto& runs = json["runnability"];
  EXPECT_EQ(runs["integer_kernels"]["total"], 38);
  EXPECT_EQ(runs["integer_kernels"]["by_op_type"],
            nlohmann::json({{"QLinearAdd", 6}, {"QLinearConv", 31}, {"QLinearGlobalAveragePool", 1}}));
  EXPECT_EQ(runs["float_between_qdq_nodes"], nlohmann::json::array({{{"node", "/Flatten"}, {"op_type", "Flatten"}}}));
  for (const char* stage : {"total", "prepare", "calibrate", "quantize", "check"}) {
    EXPECT_TRUE(json["seconds"][stage].is_number()) << stage;
  }
  EXPECT_GT(json["bytes"]["output"].get<int64_t>(), 100000);
  EXPECT_TRUE(json["warnings"].is_array());
}

TEST_F(CliTest, JsonReportOfALowSqnrAndOfCalibrate) {
  CliRun run = RunCli({"quantize", Input("two_outputs.onnx").string(), Output(), "--calib-data",
                       Input("x_16x1.npy").string(), "--json"},
                      logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.starts_with("onnxq: warning: output 'small'")) << run.err;
  auto json = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << run.out;
  const auto& outputs = json["output_check"]["outputs"];
  ASSERT_EQ(outputs.size(), 2U);
  EXPECT_EQ(outputs[1]["name"], "small");
  EXPECT_EQ(outputs[1]["sqnr_db"], 0.0);
  EXPECT_EQ(outputs[1]["below_threshold"], true);
  EXPECT_EQ(outputs[0]["below_threshold"], false);
  const auto& warnings = json["warnings"];
  EXPECT_TRUE(std::any_of(warnings.begin(), warnings.end(), [](const nlohmann::json& w) {
    return w.get<std::string>().starts_with("output 'small': SQNR 0.0 dB");
  })) << warnings.dump();

  const std::string table = (out_dir_ / "table.json").string();
  run = RunCli({"calibrate", Input("two_outputs.onnx").string(), "-o", table, "--calib-data",
                Input("x_16x1.npy").string(), "--json"},
               logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << run.out;
  EXPECT_EQ(json["command"], "calibrate");
  EXPECT_EQ(json["output"], table);
  EXPECT_EQ(json["method"], "MinMax");
  EXPECT_EQ(json["calibration"]["samples"], 16);
  // x alone: only the graph's outputs read t (through the Split), so the MatMul writes it in float.
  EXPECT_EQ(json["tensors"], 1);
}

TEST_F(CliTest, SameInputsGiveTheSameBytes) {
  const fs::path first = out_dir_ / "first.onnx";
  const fs::path second = out_dir_ / "second.onnx";
  for (const auto& out : {first, second}) {
    const CliRun run = RunCli({"quantize", ModelPath("mbv2_fmnist.onnx").string(), out.string(), "--calib-data",
                               Calib(), "--calib-data-size", "64", "--per-channel", "-q"},
                              logs_);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err, "");
    EXPECT_EQ(run.out, "");  // --quiet
  }
  EXPECT_EQ(Listing(out_dir_), (std::vector<std::string>{"first.onnx", "second.onnx"}));
  const std::string bytes = ReadBytes(first);
  EXPECT_GT(bytes.size(), 100000U);
  EXPECT_TRUE(bytes == ReadBytes(second)) << "two runs wrote different models";
  auto model = LoadModel(first);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const auto quantize_nodes =
      std::count_if(model->graph().node().begin(), model->graph().node().end(),
                    [](const onnx::NodeProto& node) { return node.op_type() == "QuantizeLinear"; });
  EXPECT_GT(quantize_nodes, 10);
}

}  // namespace
}  // namespace onnxq
