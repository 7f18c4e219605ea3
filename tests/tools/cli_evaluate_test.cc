// evaluate and dump on the Fashion-MNIST PNGs of data/fmnist/png: calibrate from the calib folder and
// quantize, compare float and quantized on the val folder (labels from the class folders), the same
// numbers as on the raw arrays of the same images; skipped images counted; dump's files and refusals.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "io/image_folder_reader.h"
#include "onnxq/data_reader.h"
#include "onnxq/evaluate.h"

#include "cli_fixture.h"

namespace onnxq {
namespace {

// Fashion-MNIST's preprocessing: gray, (pixel/255 - 0.2860) / 0.3530.
std::vector<std::string> WithImages(std::vector<std::string> args) {
  for (const char* a : {"--color", "gray", "--mean", "0.2860", "--std", "0.3530"}) args.emplace_back(a);
  return args;
}

std::string Png(const std::string& split) { return (DataDir() / "png" / split).string(); }

// The words of the line of `out` that starts with `first`.
std::vector<std::string> Row(const std::string& out, const std::string& first) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(first)) continue;
    std::istringstream words(line);
    std::vector<std::string> row;
    for (std::string w; words >> w;) row.push_back(w);
    return row;
  }
  ADD_FAILURE() << "no line starts with '" << first << "' in:\n" << out;
  return {};
}

TEST_F(CliTest, ComparesFloatAndQuantizedOnTheValImages) {
  const std::string quantized = (work_ / "mbv2_int8.onnx").string();
  const CliRun quantize = RunCli(WithImages({"quantize", Model(), quantized, "--calib-data", Png("calib")}), logs_);
  ASSERT_EQ(quantize.exit_code, 0) << quantize.err;
  EXPECT_NE(quantize.out.find("calibration       100 samples\n"), std::string::npos) << quantize.out;

  const CliRun table = RunCli(WithImages({"evaluate", Model(), quantized, "--data", Png("val")}), logs_);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(Row(table.out, "file"), (std::vector<std::string>{"file", "MB", "Prec@1", "Prec@5", "agree@1", "vs",
                                                              "first", "images/s", "ms/batch"}))
      << table.out;
  const std::vector<std::string> f = Row(table.out, Model());
  const std::vector<std::string> q = Row(table.out, quantized);
  ASSERT_EQ(f.size(), 8U) << table.out;
  ASSERT_EQ(q.size(), 9U) << table.out;
  EXPECT_EQ(f[1], "1.48");          // 1,481,129 bytes
  EXPECT_LT(std::stod(q[1]), 0.6);  // int8 weights
  EXPECT_EQ(f[4], "-");
  EXPECT_EQ(f[5], "-");
  const double float_top1 = std::stod(f[2]);
  const double quant_top1 = std::stod(q[2]);
  EXPECT_GT(float_top1, 85.0);
  EXPECT_NEAR(quant_top1, float_top1, 1.0);
  ASSERT_TRUE(q[4].ends_with("%")) << q[4];
  EXPECT_GE(std::stod(q[4]), 95.0);
  EXPECT_TRUE(q[5].ends_with("x")) << q[5];
  EXPECT_GT(std::stod(q[5]), 0.0);
  EXPECT_EQ(q[6], "time");
  EXPECT_GT(std::stod(f[6]), 0.0);  // images/s
  EXPECT_NE(table.out.find("(500 samples)\n"), std::string::npos) << table.out;

  const CliRun json = RunCli(WithImages({"evaluate", Model(), quantized, "--data", Png("val"), "--json"}), logs_);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["command"], "evaluate");
  EXPECT_EQ(j["samples"], 500);
  EXPECT_EQ(j["skipped"], 0);
  EXPECT_TRUE(j["labels"].is_null());
  ASSERT_EQ(j["models"].size(), 2U);
  EXPECT_TRUE(j["models"][0]["top1_agreement"].is_null());
  EXPECT_NEAR(j["models"][0]["top1"].get<double>(), float_top1, 0.005);
  EXPECT_NEAR(j["models"][1]["top1"].get<double>(), quant_top1, 0.005);
  EXPECT_NEAR(j["models"][1]["top1_agreement"].get<double>(), std::stod(q[4]), 0.005);
  EXPECT_GT(j["models"][1]["time_vs_first"].get<double>(), 0.0);
  EXPECT_EQ(j["models"][1]["bytes"], static_cast<int64_t>(fs::file_size(quantized)));
}

TEST_F(CliTest, EvaluatesTheValImagesAsTheArraysOfTheSameTestImages) {
  // The rows of eval_10000.npy that the val PNGs are (img_<i>.png is test image i), in the folder's order.
  auto listing = ListImageFolder(Png("val"), 100);  // 10 of each class, as --max-samples 100 takes them
  ASSERT_TRUE(listing.ok());
  const Tensor all = testing::LoadNpySamples(DataDir() / "eval_10000.npy", "input", 0, 10000);
  auto all_labels = LoadLabels(DataDir() / "eval_labels.u8");
  ASSERT_TRUE(all_labels.ok());
  std::vector<float> rows;
  std::vector<int64_t> labels;
  for (const ImageFile& file : listing->files) {
    const auto index = static_cast<size_t>(std::stoll(file.path.stem().string().substr(4)));
    const auto row = all.floats().subspan(index * 28 * 28, 28 * 28);
    rows.insert(rows.end(), row.begin(), row.end());
    labels.push_back((*all_labels)[index]);
  }
  const auto n = static_cast<int64_t>(labels.size());
  ASSERT_EQ(n, 100);
  ASSERT_TRUE(WriteNpy(work_ / "val.npy", Tensor::FromFloats("input", {n, 1, 28, 28}, rows)).ok());
  ASSERT_TRUE(WriteNpy(work_ / "labels.npy", testing::Int64Tensor("labels", {n}, labels)).ok());

  const std::string model = ModelPath("mbv2_fmnist_bn_dyn.onnx").string();
  const CliRun images =
      RunCli(WithImages({"evaluate", model, "--data", Png("val"), "--max-samples", "100", "--json"}), logs_);
  const CliRun arrays = RunCli({"evaluate", model, "--data", (work_ / "val.npy").string(), "--labels",
                                (work_ / "labels.npy").string(), "--json"},
                               logs_);
  ASSERT_EQ(images.exit_code, 0) << images.err;
  ASSERT_EQ(arrays.exit_code, 0) << arrays.err;
  const auto a = nlohmann::json::parse(images.out)["models"][0];
  const auto b = nlohmann::json::parse(arrays.out)["models"][0];
  EXPECT_EQ(a["top1"], b["top1"]);
  EXPECT_EQ(a["top5"], b["top5"]);
  EXPECT_GT(a["top1"].get<double>(), 80.0);
  // Two models on the same data agree with themselves.
  const CliRun twice =
      RunCli(WithImages({"evaluate", model, model, "--data", Png("val"), "--max-samples", "100", "--json"}), logs_);
  ASSERT_EQ(twice.exit_code, 0) << twice.err;
  EXPECT_EQ(nlohmann::json::parse(twice.out)["models"][1]["top1_agreement"], 100.0);
}

TEST_F(CliTest, SkippedImagesAreCountedInTheEvaluationAndTheQuantization) {
  const fs::path images = work_ / "images";
  for (const char* cls : {"0_T-shirt_top", "1_Trouser", "2_Pullover"}) {
    fs::create_directories(images / cls);
    int copied = 0;
    for (const auto& entry : fs::directory_iterator(DataDir() / "png" / "val" / cls)) {
      if (copied++ < 4) fs::copy_file(entry.path(), images / cls / entry.path().filename());
    }
  }
  const fs::path broken = images / "1_Trouser" / "broken.png";
  WriteBytes(broken, "\x89PNG\r\n\x1a\n truncated");
  const std::string warning = "onnxq: warning: skipped image '" + broken.string() + "'";

  const CliRun table = RunCli(WithImages({"evaluate", Model(), "--data", images.string()}), logs_);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("(12 samples, 1 unreadable image skipped)\n"), std::string::npos) << table.out;
  EXPECT_NE(table.err.find(warning), std::string::npos) << table.err;
  const CliRun json = RunCli(WithImages({"evaluate", Model(), "--data", images.string(), "--json"}), logs_);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(nlohmann::json::parse(json.out)["skipped"], 1);

  const CliRun quantize = RunCli(WithImages({"quantize", Model(), Output(), "--calib-data", images.string()}), logs_);
  ASSERT_EQ(quantize.exit_code, 0) << quantize.err;
  EXPECT_NE(quantize.out.find("calibration       12 samples (1 unreadable image skipped)\n"), std::string::npos)
      << quantize.out;
  const CliRun quantize_json =
      RunCli(WithImages({"quantize", Model(), Output(), "--calib-data", images.string(), "--json"}), logs_);
  ASSERT_EQ(quantize_json.exit_code, 0) << quantize_json.err;
  EXPECT_EQ(nlohmann::json::parse(quantize_json.out)["calibration"]["skipped"], 1);

  // A labels file with a skipped image would no longer line up: the warning, then one error line.
  WriteBytes(work_ / "labels.u8", std::string(13, '\1'));
  const CliRun labelled = RunCli(
      WithImages({"evaluate", Model(), "--data", images.string(), "--labels", (work_ / "labels.u8").string()}), logs_);
  EXPECT_EQ(labelled.exit_code, 1);
  EXPECT_TRUE(labelled.err.starts_with(warning)) << labelled.err;
  const std::string error = labelled.err.substr(labelled.err.find("onnxq: error: "));
  EXPECT_EQ(std::count(error.begin(), error.end(), '\n'), 1) << error;
  EXPECT_NE(error.find("1 sample could not be read and was skipped, so the labels no longer line up"),
            std::string::npos)
      << error;
}

TEST_F(CliTest, AFlatFolderOfImagesNeedsALabelsFile) {
  const fs::path flat = work_ / "flat";
  fs::create_directories(flat);
  int copied = 0;
  for (const auto& entry : fs::directory_iterator(DataDir() / "png" / "val" / "1_Trouser")) {
    if (copied++ < 5) fs::copy_file(entry.path(), flat / entry.path().filename());
  }
  ExpectCleanFailure(WithImages({"evaluate", Model(), "--data", flat.string()}),
                     {"carries no labels", "give a labels file"});
  WriteBytes(work_ / "labels.u8", std::string(5, '\1'));
  const CliRun run = RunCli(
      WithImages({"evaluate", Model(), "--data", flat.string(), "--labels", (work_ / "labels.u8").string(), "--json"}),
      logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["samples"], 5);
  EXPECT_EQ(j["models"][0]["top1"], 100.0);  // five trousers
}

TEST_F(CliTest, DumpsTheQuantizedTensorsOfTheFirstImage) {
  const std::string quantized = (work_ / "mbv2_int8.onnx").string();
  const CliRun quantize = RunCli(
      WithImages({"quantize", Model(), quantized, "--calib-data", Png("calib"), "--calib-data-size", "20", "-q"}),
      logs_);
  ASSERT_EQ(quantize.exit_code, 0) << quantize.err;
  const fs::path dump = out_dir_ / "dump";
  const CliRun run = RunCli(
      WithImages({"dump", quantized, "--data", Png("val"), "--output-dir", dump.string(), "--dump-float", "--json"}),
      logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["samples"], 1);
  ASSERT_GE(j["quantized"].size(), 10U);
  const std::vector<std::string> files = Listing(dump);
  const auto has = [&](const std::string& name) { return std::find(files.begin(), files.end(), name) != files.end(); };
  for (const auto& t : j["quantized"]) {
    const std::string stem = t["file_stem"];
    EXPECT_EQ(stem.find('/'), std::string::npos) << stem;
    EXPECT_TRUE(has(stem + ".bin") && has(stem + ".txt")) << stem;
    uintmax_t elements = 1;
    for (const auto& d : t["shape"]) elements *= d.get<uintmax_t>();
    EXPECT_EQ(t["type"], "uint8");
    EXPECT_EQ(fs::file_size(dump / (stem + ".bin")), elements) << stem;  // one byte a value
  }
  EXPECT_TRUE(has("input_float.bin") && has("input_float.txt"));
  EXPECT_EQ(fs::file_size(dump / "input_float.bin"), 28U * 28U * 4U);
  EXPECT_GT(j["float"].size(), j["quantized"].size());

  // Random data without --data: one sample of the model's shape.
  const CliRun random = RunCli({"dump", quantized, "--output-dir", (out_dir_ / "random").string()}, logs_);
  ASSERT_EQ(random.exit_code, 0) << random.err;
  EXPECT_NE(random.out.find("samples           1 (random)\n"), std::string::npos) << random.out;
  fs::remove_all(out_dir_ / "dump");
  fs::remove_all(out_dir_ / "random");

  ExpectCleanFailure({"dump", (work_ / "absent.onnx").string(), "--output-dir", (out_dir_ / "d").string()},
                     {"absent.onnx"});
  WriteBytes(work_ / "file", "x");
  ExpectCleanFailure({"dump", quantized, "--output-dir", (work_ / "file" / "d").string()},
                     {"cannot make the output folder", (work_ / "file" / "d").string()});
  ExpectCleanFailure({"dump", Model(), "--output-dir", (out_dir_ / "d").string()}, {"no QuantizeLinear"});
}

}  // namespace
}  // namespace onnxq
