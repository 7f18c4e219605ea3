// Tensors that are only summarized are observed where ONNX Runtime computes them, in its
// channel-blocked layout: the rewrite of its optimized graph, the dropping of padding channels, and
// the backend end to end (the values of each sample are those of the NCHW tensor, in another order).
#include "calibration/observe_tensors.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "calibration/onnxruntime_backend.h"
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

std::vector<std::string> ObservedSources(const onnx::ModelProto& model) {
  std::vector<std::string> sources;
  for (const auto& node : model.graph().node()) {
    if (node.domain() == kObserveDomain && node.op_type() == kObserveOp) sources.push_back(node.input(0));
  }
  return sources;
}

int64_t Attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return -1;
}

TEST(ObserveTensorsTest, ReadsEachTensorWhereTheEngineComputesIt) {
  onnx::ModelProto model = OptimizedGraph();
  ASSERT_TRUE(ObserveTensors(model, {"A", "B", "C", "X"}, {"D"}));
  // A: read by nothing else -> observed blocked, conversion removed.
  // B: read by Relu -> observed blocked, conversion kept for Relu.
  // C: channels-last conversion -> observed as it is. X: a graph input -> observed as it is.
  EXPECT_EQ(ObservedSources(model), (std::vector<std::string>{"AB", "AB", "C", "X"}));
  EXPECT_FALSE(Produces(model, "A"));
  EXPECT_TRUE(Produces(model, "B"));
  EXPECT_TRUE(Produces(model, "C"));
  EXPECT_TRUE(Produces(model, "D"));
  // The exposures went; the kept output and one output per Observe node are the graph outputs.
  EXPECT_EQ(OutputNames(model), (std::vector<std::string>{"D", "onnxq_observed_0", "onnxq_observed_1",
                                                          "onnxq_observed_2", "onnxq_observed_3"}));
  // Observe nodes come last, the one of the latest tensor first, and carry index and real channel count.
  // C's conversion feeds nothing but its Observe node: C counts as ready where AB is, so the runtime
  // converts it right after the Conv instead of after the whole graph.
  const auto& nodes = model.graph().node();
  ASSERT_EQ(nodes.size(), 10);
  EXPECT_EQ(nodes[5].output(0), "D");
  EXPECT_EQ(nodes[6].output(0), "onnxq_observed_0");  // the blocked Conv's
  EXPECT_EQ(Attribute(nodes[6], "channels"), 20);
  EXPECT_EQ(nodes[7].output(0), "onnxq_observed_1");
  EXPECT_EQ(nodes[8].output(0), "onnxq_observed_2");  // C, ready with the Conv's output
  EXPECT_EQ(nodes[9].output(0), "onnxq_observed_3");  // X, the earliest
  EXPECT_EQ(Attribute(nodes[9], "index"), 3);
  EXPECT_EQ(Attribute(nodes[9], "channels"), 0);
  bool has_domain = false;
  for (const auto& opset : model.opset_import()) has_domain = has_domain || opset.domain() == kObserveDomain;
  EXPECT_TRUE(has_domain);
}

TEST(ObserveTensorsTest, ReductionsThatFeedOnlyObserveNodesAreReadyWithTheirInput) {
  // M reduces A (the first Conv's output) for calibration only, and the engine listed its nodes
  // last: its Observe node must still run before B's, right after A, so that A is freed early.
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X, float[2,2,1,1] W) => (float[1,2,4,4] Y, float[1,2,4,4] A, float[1,2,4,4] B, float[2] M)
{
  A = Conv(X, W)
  B = Conv(A, W)
  Y = Relu(B)
  P = GlobalAveragePool(A)
  M = ReduceMean <axes = [0, 2, 3], keepdims = 0> (P)
}
)");
  ASSERT_TRUE(ObserveTensors(model, {"A", "B", "M"}, {"Y"}));
  // The latest first: B (node 1), then A and M (both ready at node 0, in list order).
  EXPECT_EQ(ObservedSources(model), (std::vector<std::string>{"B", "A", "M"}));
}

TEST(ObserveTensorsTest, TellsWhetherABlockedTensorIsObserved) {
  onnx::ModelProto blocked = OptimizedGraph();
  ASSERT_TRUE(ObserveTensors(blocked, {"A", "X"}, {}));
  EXPECT_TRUE(ObservesBlockedTensor(blocked));
  onnx::ModelProto plain = OptimizedGraph();
  ASSERT_TRUE(ObserveTensors(plain, {"C", "X"}, {}));  // channels-last and a graph input: as they are
  EXPECT_FALSE(ObservesBlockedTensor(plain));
}

TEST(ObserveTensorsTest, RefusesATensorTheGraphDoesNotHave) {
  onnx::ModelProto model = OptimizedGraph();
  EXPECT_FALSE(ObserveTensors(model, {"A", "Missing"}, {}));
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
  std::vector<float> real = {7, 7, 7};  // replaced, not appended to
  DropChannelPadding(blocked, 2, 4, 2, 3, 2, real);
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

// Keeps a copy of each observed tensor.
class Recorder final : public TensorObserver {
 public:
  explicit Recorder(size_t n) : values(n) {}
  void Observe(size_t index, std::span<const float> v, const ObservedLayout& /*layout*/) override {
    values[index].assign(v.begin(), v.end());
  }
  std::vector<std::vector<float>> values;
};

TEST(ObservedRunTest, EachSampleHoldsTheValuesOfTheOrderedTensor) {
  const onnx::ModelProto model = ConvModel();
  std::mt19937 rng(11);
  const Feeds feeds = {Tensor::FromFloats("X", {3, 8, 6, 6}, testing::RandomVector(3 * 8 * 36, -1.0F, 1.0F, rng))};
  const std::vector<std::string> names = {"C", "Y", "X"};

  onnx::ModelProto exposed = model;
  exposed.mutable_graph()->add_output()->set_name("C");
  auto ordered = CreateOnnxRuntimeSession(exposed);
  auto observing = CreateOnnxRuntimeSession(model, {.observed = names});
  ASSERT_TRUE(ordered.ok() && observing.ok());
  auto expected = (*ordered)->Run(feeds, std::vector<std::string>{"C", "Y"});
  ASSERT_TRUE(expected.ok()) << expected.status().message();
  const std::vector<std::span<const float>> want_values = {(*expected)[0].data, (*expected)[1].data, feeds[0].floats()};
  Recorder recorder(names.size());
  ASSERT_TRUE((*observing)->RunObserved(feeds, recorder).ok());
  for (size_t t = 0; t < names.size(); ++t) {
    const std::span<const float> e = want_values[t];
    const std::vector<float>& a = recorder.values[t];
    ASSERT_EQ(a.size(), e.size()) << names[t];
    const size_t per_sample = e.size() / 3;
    for (size_t n = 0; n < 3; ++n) {
      std::vector<float> want(e.begin() + static_cast<std::ptrdiff_t>(n * per_sample),
                              e.begin() + static_cast<std::ptrdiff_t>((n + 1) * per_sample));
      std::vector<float> got(a.begin() + static_cast<std::ptrdiff_t>(n * per_sample),
                             a.begin() + static_cast<std::ptrdiff_t>((n + 1) * per_sample));
      std::sort(want.begin(), want.end());
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, want) << names[t] << " sample " << n;
    }
  }
#if defined(__x86_64__)
  // On x86-64 the runtime computes this Conv blocked, so the blocked path was taken: same values, other
  // order.
  EXPECT_FALSE(std::equal((*expected)[0].data.begin(), (*expected)[0].data.end(), recorder.values[0].begin()));
#endif
  // Callers see the model's own outputs, and a plain run still gives them.
  ASSERT_EQ((*observing)->outputs().size(), 1U);
  EXPECT_EQ((*observing)->outputs()[0].name, "Y");
  auto plain = (*observing)->Run(feeds, {});
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  ASSERT_EQ(plain->size(), 1U);
  EXPECT_TRUE(std::equal((*plain)[0].data.begin(), (*plain)[0].data.end(), (*expected)[1].data.begin()));
}

// Records the order in which tensors are handed over.
class OrderRecorder final : public TensorObserver {
 public:
  void Observe(size_t index, std::span<const float> /*values*/, const ObservedLayout& /*layout*/) override {
    order.push_back(index);
  }
  std::vector<size_t> order;
};

TEST(ObservedRunTest, EachTensorIsHandedOverBeforeTheNextIsComputed) {
  // The runtime picks its own order among independent nodes: each Observe node must run as soon as
  // its tensor exists, so tensors come in the order the graph computes them.
  const onnx::ModelProto model = ConvModel();
  std::mt19937 rng(5);
  const Feeds feeds = {Tensor::FromFloats("X", {2, 8, 6, 6}, testing::RandomVector(2 * 8 * 36, -1.0F, 1.0F, rng))};
  auto observing = CreateOnnxRuntimeSession(model, {.observed = {"X", "C", "Y"}});
  ASSERT_TRUE(observing.ok()) << observing.status().message();
  OrderRecorder recorder;
  ASSERT_TRUE((*observing)->RunObserved(feeds, recorder).ok());
  EXPECT_EQ(recorder.order, (std::vector<size_t>{0, 1, 2}));
}

}  // namespace
}  // namespace onnxq
