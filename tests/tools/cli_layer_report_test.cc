// onnxq report and quantize --report, run as a user would: the table on stdout, JSON, the HTML page,
// the format chosen by the file name, and refusals.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_fixture.h"

namespace onnxq {
namespace {

TEST_F(CliTest, QuantizeWritesItsLayerReportAndReportReadsBothModels) {
  const std::string json_path = (out_dir_ / "layers.json").string();
  const CliRun quantize =
      RunCli({"quantize", Model(), Output(), "--calib-data", Calib(), "--calib-data-size", "32", "--report", json_path},
             logs_);
  ASSERT_EQ(quantize.exit_code, 0) << quantize.err;
  EXPECT_NE(quantize.out.find("  layer report      " + json_path + "\n"), std::string::npos) << quantize.out;
  const auto json = nlohmann::json::parse(ReadBytes(json_path));
  EXPECT_EQ(json["quantized_model"], Output());
  EXPECT_EQ(json["data"], Calib());
  EXPECT_EQ(json["samples"], 16);
  ASSERT_GT(json["activations"].size(), 30U);
  // The model's batch norms are folded into its convolutions before quantization: each int8 weight
  // is compared with the folded float weight, at the SQNR of 8-bit rounding, not with the unfolded one.
  const auto expect_weights_near_float = [](const nlohmann::json& report) {
    int weights = 0;
    for (const auto& w : report["weights"]) {
      if (w["type"] != "int8") continue;
      ++weights;
      EXPECT_GT(w["sqnr_db"].get<double>(), 25.0) << w["tensor"];
    }
    EXPECT_GT(weights, 30);
  };
  expect_weights_near_float(json);
  // Ten sensitivity runs by default, on the ten worst.
  int sensitivities = 0;
  for (const auto& a : json["activations"]) sensitivities += a["sensitivity_db"].is_null() ? 0 : 1;
  EXPECT_EQ(sensitivities, 10);
  EXPECT_FALSE(json["activations"][9]["sensitivity_db"].is_null());

  const std::string html = (out_dir_ / "page.html").string();
  const CliRun report = RunCli({"report", Model(), Output(), "--data", Calib(), "--max-samples", "4", "--sensitivity",
                                "2", "--html", html, "-q"},
                               logs_);
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_TRUE(report.err.empty()) << report.err;
  EXPECT_TRUE(report.out.starts_with("onnxq report: " + Model() + " vs " + Output() + " on 4 samples of " + Calib()))
      << report.out;
  // The worst tensor of the table is the first of the JSON.
  const auto as_json = RunCli(
      {"report", Model(), Output(), "--data", Calib(), "--max-samples", "4", "--sensitivity", "0", "--json", "-q"},
      logs_);
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  const auto parsed = nlohmann::json::parse(as_json.out);
  EXPECT_EQ(parsed["samples"], 4);
  expect_weights_near_float(parsed);
  const std::string worst = parsed["activations"][0]["tensor"];
  EXPECT_NE(report.out.find("  " + worst + "\n"), std::string::npos) << worst << " in\n" << report.out;
  EXPECT_TRUE(parsed["activations"][0]["sensitivity_db"].is_null());
  const std::string page = ReadBytes(html);
  EXPECT_TRUE(page.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(page.find("<svg id='sqnr-plot'"), std::string::npos);
  EXPECT_EQ(Listing(out_dir_), (std::vector<std::string>{"layers.json", "out.onnx", "page.html"}));
}

TEST_F(CliTest, ReportWithoutDataUsesRandomSamples) {
  ASSERT_EQ(RunCli({"quantize", Model(), Output(), "--calib-data", Calib(), "--calib-data-size", "16", "-q"}, logs_)
                .exit_code,
            0);
  const CliRun run = RunCli({"report", Model(), Output(), "--max-samples", "2", "--sensitivity", "1", "-q"}, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find(" on 2 samples of random data in [0, 1)\n"), std::string::npos) << run.out;
}

TEST_F(CliTest, ReportRefusesAFloatModelAsTheQuantizedOne) {
  ExpectCleanFailure({"report", Model(), Model(), "--data", Calib(), "--max-samples", "2"},
                     {"mbv2_fmnist_bn.onnx", "no QuantizeLinear -> DequantizeLinear pair"});
  ExpectCleanFailure({"report", Model(), (out_dir_ / "missing.onnx").string()}, {"missing.onnx"});
  // The page may not replace an input.
  ASSERT_EQ(RunCli({"quantize", Model(), Output(), "--calib-data", Calib(), "--calib-data-size", "16", "-q"}, logs_)
                .exit_code,
            0);
  const CliRun run = RunCli({"report", Model(), Output(), "--html", Output(), "-q"}, logs_);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(run.err.starts_with("onnxq: error: ")) << run.err;
  EXPECT_NE(ReadBytes(Output()).find("QuantizeLinear"), std::string::npos) << "the model is intact";
}

TEST_F(CliTest, QuantizeRefusesTheOutputModelAsItsReport) {
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", Calib(), "--report", Output()},
                     {"--report", "output model"});
}

}  // namespace
}  // namespace onnxq
