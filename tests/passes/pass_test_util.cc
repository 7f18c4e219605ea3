#include "pass_test_util.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "ir/tensor_util.h"
#include "onnxq/model_io.h"
#include "passes/pass_registry.h"
#include "testing/test_support.h"

namespace onnxq::testing {

PassReport RunPassOk(const std::string& id, onnx::ModelProto& model, PassContext& context, const PassOptions& options) {
  auto runs = RunPasses({id}, model, options, context);
  EXPECT_TRUE(runs.ok()) << runs.status().message();
  if (!runs.ok() || runs->empty()) return {};
  return (*runs)[0].report;
}

PassReport RunPassOk(const std::string& id, onnx::ModelProto& model, const PassOptions& options) {
  PassContext context;
  return RunPassOk(id, model, context, options);
}

void ExpectPassChangesNothing(const std::string& id, const onnx::ModelProto& model) {
  auto after = model;
  EXPECT_EQ(RunPassOk(id, after).changes, 0);
  EXPECT_EQ(after.SerializeAsString(), model.SerializeAsString());
}

void ClearShapes(onnx::ModelProto& model) {
  auto* graph = model.mutable_graph();
  for (auto* infos : {graph->mutable_input(), graph->mutable_output(), graph->mutable_value_info()}) {
    for (auto& info : *infos) info.mutable_type()->mutable_tensor_type()->clear_shape();
  }
}

std::map<std::string, int> OpCounts(const onnx::ModelProto& model) {
  std::map<std::string, int> counts;
  for (const auto& node : model.graph().node()) ++counts[node.op_type()];
  return counts;
}

const onnx::NodeProto* FindNode(const onnx::ModelProto& model, const std::string& op_type, int occurrence) {
  for (const auto& node : model.graph().node()) {
    if (node.op_type() == op_type && occurrence-- == 0) return &node;
  }
  return nullptr;
}

const onnx::TensorProto* FindInitializer(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& init : model.graph().initializer()) {
    if (init.name() == name) return &init;
  }
  return nullptr;
}

std::vector<float> InitializerValues(const onnx::ModelProto& model, const std::string& name) {
  const auto* init = FindInitializer(model, name);
  EXPECT_NE(init, nullptr) << "no initializer " << name;
  if (init == nullptr) return {};
  auto values = ToFloats(*init);
  EXPECT_TRUE(values.ok());
  return values.ok() ? *values : std::vector<float>{};
}

std::vector<int64_t> InitializerCodes(const onnx::ModelProto& model, const std::string& name) {
  const auto* init = FindInitializer(model, name);
  if (init == nullptr) return {};
  auto codes = ToInt64s(*init);
  return codes.ok() ? *codes : std::vector<int64_t>{};
}

std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

int32_t ElemType(const onnx::ValueInfoProto& info) { return info.type().tensor_type().elem_type(); }

Tensor RandomTensor(const std::string& name, std::vector<int64_t> shape, uint32_t seed, float low, float high) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  std::vector<float> values(static_cast<size_t>(n));
  for (float& v : values) v = dist(rng);
  return Tensor::FromFloats(name, std::move(shape), values);
}

void SetInitializer(onnx::ModelProto& model, const std::string& name, const std::vector<int64_t>& dims,
                    const std::vector<float>& values) {
  auto* graph = model.mutable_graph();
  for (auto& init : *graph->mutable_initializer()) {
    if (init.name() == name) {
      init = MakeFloatTensor(name, dims, values);
      return;
    }
  }
  *graph->add_initializer() = MakeFloatTensor(name, dims, values);
}

void SetRandomInitializer(onnx::ModelProto& model, const std::string& name, const std::vector<int64_t>& dims,
                          uint32_t seed, float low, float high) {
  const Tensor t = RandomTensor(name, dims, seed, low, high);
  const auto values = t.floats();
  SetInitializer(model, name, dims, std::vector<float>(values.begin(), values.end()));
}

double MaxRelativeDifference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) return std::numeric_limits<double>::infinity();
  double max_ref = 0.0;
  double max_diff = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(a[i])));
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  }
  return max_ref > 0.0 ? max_diff / max_ref : max_diff;
}

void ExpectSameFunction(const onnx::ModelProto& before, const onnx::ModelProto& after, const std::vector<Feeds>& feeds,
                        double tolerance) {
  ASSERT_FALSE(feeds.empty());
  for (size_t i = 0; i < feeds.size(); ++i) {
    const auto expected = RunFirstOutput(before, feeds[i]);
    const auto actual = RunFirstOutput(after, feeds[i]);
    ASSERT_FALSE(expected.empty());
    EXPECT_LE(MaxRelativeDifference(expected, actual), tolerance) << "feed set " << i;
  }
}

void ExpectSameOutputs(const onnx::ModelProto& before, const onnx::ModelProto& after, const Feeds& feeds,
                       double max_abs_error) {
  const auto expected = RunAllOutputs(before, feeds);
  const auto actual = RunAllOutputs(after, feeds);
  ASSERT_FALSE(expected.empty());
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t o = 0; o < expected.size(); ++o) {
    ASSERT_FALSE(expected[o].empty()) << "output " << o;
    ASSERT_EQ(expected[o].size(), actual[o].size()) << "output " << o;
    double worst = 0;
    for (size_t i = 0; i < expected[o].size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(expected[o][i]) - actual[o][i]));
    }
    EXPECT_LE(worst, max_abs_error) << "output " << o;
  }
}

std::vector<Feeds> FmnistSamples(const std::string& input, int64_t count) {
  std::vector<Feeds> feeds;
  for (int64_t i = 0; i < count; ++i) {
    feeds.push_back({LoadNpySamples(DataDir() / "calib_1000.npy", input, i * 37, 1)});
  }
  return feeds;
}

std::vector<Feeds> RandomSamples(const std::string& input, std::vector<int64_t> shape, int64_t count, uint32_t seed) {
  std::vector<Feeds> feeds;
  for (int64_t i = 0; i < count; ++i) {
    feeds.push_back({RandomTensor(input, shape, seed + static_cast<uint32_t>(i), -2.0F, 2.0F)});
  }
  return feeds;
}

onnx::ModelProto LoadTestModel(const std::string& file) {
  auto model = LoadModel(ModelPath(file));
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? std::move(model).value() : onnx::ModelProto();
}

}  // namespace onnxq::testing
