// Outputs that are only summarized may leave ONNX Runtime in its channel-blocked layout: the rewrite
// of its optimized graph, the dropping of padding channels, and the backend end to end (the values of
// each sample are those of the NCHW tensor, in another order).
#include "calibration/blocked_layout.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "calibration/inference_backend.h"
#include "ir/tensor_util.h"
#include "testing/random_data.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;

// What the runtime writes for a Conv it computes blocked, as seen in its saved optimized models.
onnx::ModelProto OptimizedGraph() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13, "com.microsoft.nchwc" : 1]>
g (float[1,3,4,4] X) => (float[1,20,4,4] A, float[1,20,4,4] B, float[1,20,4,4] C, float[1,20,4,4] D)
{
  XB = com.microsoft.nchwc.ReorderInput <channels_last = 0> (X)
  AB = com.microsoft.nchwc.Conv (XB)
  A = com.microsoft.nchwc.ReorderOutput <channels = 20, channels_last = 0> (AB)
  B = com.microsoft.nchwc.ReorderOutput <channels = 20, channels_last = 0> (AB)
  E = Relu(B)
  C = com.microsoft.nchwc.ReorderOutput <channels = 20, channels_last = 1> (AB)
  D = com.microsoft.nchwc.ReorderOutput <channels = 20, channels_last = 0> (AB)
}
)");
}

std::vector<std::string> OutputNames(const onnx::ModelProto& model) {
  std::vector<std::string> names;
  for (const auto& output : model.graph().output()) names.push_back(output.name());
  return names;
}

bool Produces(const onnx::ModelProto& model, const std::string& tensor) {
  const auto& nodes = model.graph().node();
  return std::any_of(nodes.begin(), nodes.end(), [&](const auto& n) { return n.output(0) == tensor; });
}

TEST(ExposeBlockedOutputsTest, TakesUnorderedOutputsBeforeTheirConversion) {
  onnx::ModelProto model = OptimizedGraph();
  const auto rewritten = ExposeBlockedOutputs(model, {"A", "B", "C"});
  // A: unordered, read by nothing else -> blocked, conversion removed.
  // B: unordered but read by Relu -> blocked, conversion kept for Relu.
  // C: channels-last conversion -> untouched. D: ordered -> untouched.
  ASSERT_EQ(rewritten.size(), 2U);
  EXPECT_EQ(rewritten.at("A").source, "AB");
  EXPECT_EQ(rewritten.at("A").channels, 20);
  EXPECT_EQ(rewritten.at("B").source, "AB");
  EXPECT_EQ(OutputNames(model), (std::vector<std::string>{"AB", "C", "D"}));
  EXPECT_FALSE(Produces(model, "A"));
  EXPECT_TRUE(Produces(model, "B"));
  EXPECT_TRUE(Produces(model, "C"));
}

TEST(ExposeBlockedOutputsTest, LeavesOtherTensorsAlone) {
  onnx::ModelProto model = OptimizedGraph();
  const std::string before = model.SerializeAsString();
  // E is not converted from the blocked layout; X is an input.
  EXPECT_TRUE(ExposeBlockedOutputs(model, {"E", "X"}).empty());
  EXPECT_EQ(model.SerializeAsString(), before);
}

TEST(DropChannelPaddingTest, KeepsTheRealChannelsSampleBySample) {
  // Batch 2, 3 channels in blocks of 2 (padded to 4), 2 spatial positions; value = 100 n + 10 c + s,
  // padding lanes -1. Blocked order: [n][block][s][lane].
  std::vector<float> blocked;
  for (int n = 0; n < 2; ++n) {
    for (int b = 0; b < 2; ++b) {
      for (int s = 0; s < 2; ++s) {
        for (int lane = 0; lane < 2; ++lane) {
          const int c = b * 2 + lane;
          blocked.push_back(c < 3 ? static_cast<float>(100 * n + 10 * c + s) : -1.0F);
        }
      }
    }
  }
  const std::vector<float> real = DropChannelPadding(blocked, 2, 4, 2, 3, 2);
  EXPECT_EQ(real, (std::vector<float>{0, 10, 1, 11, 20, 21, 100, 110, 101, 111, 120, 121}));
}

// A Conv with 20 output channels (not a whole block of 8 or 16) and a Relu: both computed blocked.
onnx::ModelProto ConvModel() {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,8,6,6] X) => (float[N,20,6,6] Y)
{
  C = Conv <pads = [1, 1, 1, 1]> (X, W, Bias)
  Y = Relu(C)
}
)");
  auto* graph = model.mutable_graph();
  std::mt19937 rng(7);
  const std::vector<int64_t> weight_dims = {20, 8, 3, 3};
  const std::vector<int64_t> bias_dims = {20};
  *graph->add_initializer() = MakeFloatTensor("W", weight_dims, testing::RandomVector(20 * 8 * 9, -0.5F, 0.5F, rng));
  *graph->add_initializer() = MakeFloatTensor("Bias", bias_dims, testing::RandomVector(20, -0.5F, 0.5F, rng));
  return model;
}

TEST(UnorderedOutputsTest, EachSampleHoldsTheValuesOfTheOrderedTensor) {
  onnx::ModelProto model = ConvModel();
  model.mutable_graph()->add_output()->set_name("C");
  std::mt19937 rng(11);
  const Feeds feeds = {Tensor::FromFloats("X", {3, 8, 6, 6}, testing::RandomVector(3 * 8 * 36, -1.0F, 1.0F, rng))};

  auto ordered = CreateOnnxRuntimeSession(model);
  auto unordered = CreateOnnxRuntimeSession(model, {.unordered_outputs = {"C", "Y"}});
  ASSERT_TRUE(ordered.ok() && unordered.ok());
  const std::vector<std::string> names = {"C", "Y"};
  auto expected = (*ordered)->Run(feeds, names);
  auto actual = (*unordered)->Run(feeds, names);
  ASSERT_TRUE(expected.ok() && actual.ok()) << actual.status().message();
  for (size_t t = 0; t < names.size(); ++t) {
    const OutputView& e = (*expected)[t];
    const OutputView& a = (*actual)[t];
    ASSERT_EQ(a.shape, (std::vector<int64_t>{3, 20, 6, 6})) << names[t];
    ASSERT_EQ(a.data.size(), e.data.size()) << names[t];
    const size_t per_sample = e.data.size() / 3;
    for (size_t n = 0; n < 3; ++n) {
      std::vector<float> want(e.data.begin() + static_cast<std::ptrdiff_t>(n * per_sample),
                              e.data.begin() + static_cast<std::ptrdiff_t>((n + 1) * per_sample));
      std::vector<float> got(a.data.begin() + static_cast<std::ptrdiff_t>(n * per_sample),
                             a.data.begin() + static_cast<std::ptrdiff_t>((n + 1) * per_sample));
      std::sort(want.begin(), want.end());
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, want) << names[t] << " sample " << n;
    }
  }
#if defined(__x86_64__)
  // On x86-64 the runtime computes this Conv blocked, so the blocked path was taken: same values, other
  // order.
  EXPECT_FALSE(std::equal((*expected)[0].data.begin(), (*expected)[0].data.end(), (*actual)[0].data.begin()));
#endif
  // The logical shapes are reported too.
  for (const ValueInfo& output : (*unordered)->outputs()) {
    EXPECT_TRUE(output.name == "C" || output.name == "Y") << output.name;
    ASSERT_EQ(output.shape.size(), 4U);
    EXPECT_EQ(output.shape[1], 20);
  }
}

}  // namespace
}  // namespace onnxq
