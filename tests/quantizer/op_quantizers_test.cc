// Every op quantizer through the public pipeline: a small graph X -> Conv -> <op>, quantized on random
// data, then (1) which inputs and outputs of the op got Q/DQ, (2) whether its outputs share the data
// input's scale and zero point or have their own, (3) the quantized model against the float one in ONNX
// Runtime, and (4) for ops left float, the reason the report gives.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "onnxq/quantize.h"
#include "quantizer/mark_nodes.h"
#include "testing/random_data.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::RunFirstOutput;
using testing::VectorReader;

// How the outputs of the op under test are quantized.
enum class OutputParams {
  kOwn,     // a calibrated range of their own (checked to differ from the data input's)
  kShared,  // the data input's scale and zero point, every output
  kNone,    // nothing to compare (float node, int64 output)
};

struct OpCase {
  std::string name;
  std::string op;            // the op under test: exactly one node of this type in the graph
  std::string initializers;  // besides the Conv weight W
  std::string body;          // nodes after `C = Conv(X, W)`; they write the graph outputs
  std::string outputs;       // graph outputs, ONNX text
  // Per input / output of the op: 'q' read through (or written to) an activation Q/DQ, 'w' read from
  // a quantized initializer, 'f' plain float or integer.
  std::string inputs;
  std::string results;
  OutputParams params = OutputParams::kOwn;
  // max |quantized - float| / max |float| over the first output. One 8-bit step is 1/255 of a range,
  // and the Conv in front adds the rounding of X and W: about 1% of the peak is expected (measured
  // 0.5% to 1.5%), twice that is allowed. A wrong grid (an output sharing a range that does not hold
  // it, a Relu that no longer clips) costs tens of percent.
  float tolerance = 0.02F;
  std::string float_reason;  // not empty: the op stays float and the report says this (a prefix)
};

std::string Literal(const std::vector<float>& values) {
  std::ostringstream out;
  out << '{';
  for (size_t i = 0; i < values.size(); ++i) out << (i == 0 ? "" : ", ") << values[i];
  out << '}';
  return out.str();
}

// `count` values uniform in [low, high), the same on every run.
std::vector<float> Values(size_t count, float low, float high, unsigned seed) {
  std::mt19937 rng(seed);
  return testing::RandomVector(count, low, high, rng);
}

std::string ModelText(const OpCase& c) {
  std::string inits = "float[4,4,1,1] W = " + Literal(Values(16, -1.0F, 1.0F, 7));
  if (!c.initializers.empty()) inits += ", " + c.initializers;
  return "<ir_version: 8, opset_import: [\"\" : 17]>\ng (float[1,4,4,4] X) => (" + c.outputs + ")\n<" + inits +
         ">\n{\n  C = Conv(X, W)\n" + c.body + "\n}\n";
}

// Four calibration batches of X [1,4,4,4] in [-2, 2]; the first is also the test input.
std::vector<Feeds> Batches() {
  std::vector<Feeds> batches;
  for (unsigned seed = 0; seed < 4; ++seed) {
    batches.push_back({Tensor::FromFloats("X", {1, 4, 4, 4}, Values(64, -2.0F, 2.0F, 100 + seed))});
  }
  return batches;
}

const onnx::TensorProto* FindInitializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& init : graph.initializer()) {
    if (init.name() == name) return &init;
  }
  return nullptr;
}

const onnx::NodeProto* FindProducer(const onnx::GraphProto& graph, const std::string& tensor) {
  for (const auto& node : graph.node()) {
    if (std::find(node.output().begin(), node.output().end(), tensor) != node.output().end()) return &node;
  }
  return nullptr;
}

const onnx::NodeProto* FindConsumer(const onnx::GraphProto& graph, const std::string& tensor, const std::string& op) {
  for (const auto& node : graph.node()) {
    if (node.op_type() == op && std::find(node.input().begin(), node.input().end(), tensor) != node.input().end()) {
      return &node;
    }
  }
  return nullptr;
}

// 'q', 'w' or 'f' for each input of `node` (see OpCase::inputs).
std::string InputKinds(const onnx::GraphProto& graph, const onnx::NodeProto& node) {
  std::string kinds;
  for (const auto& in : node.input()) {
    const auto* producer = FindProducer(graph, in);
    if (producer == nullptr || producer->op_type() != "DequantizeLinear") {
      kinds += 'f';
    } else {
      kinds += FindInitializer(graph, producer->input(0)) != nullptr ? 'w' : 'q';
    }
  }
  return kinds;
}

// 'q' or 'f' for each output of `node`: whether a QuantizeLinear reads it.
std::string OutputKinds(const onnx::GraphProto& graph, const onnx::NodeProto& node) {
  std::string kinds;
  for (const auto& out : node.output()) kinds += FindConsumer(graph, out, "QuantizeLinear") != nullptr ? 'q' : 'f';
  return kinds;
}

// Scale and zero point of a Q or DQ node, as numbers.
std::pair<float, int64_t> Params(const onnx::GraphProto& graph, const onnx::NodeProto& qdq) {
  const auto* scale = FindInitializer(graph, qdq.input(1));
  const auto* zero_point = FindInitializer(graph, qdq.input(2));
  if (scale == nullptr || zero_point == nullptr) return {NAN, -1};
  return {(*ToFloats(*scale))[0], (*ToInt64s(*zero_point))[0]};
}

std::string CaseName(const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; }

// Failure messages name the case instead of dumping its bytes.
void PrintTo(const OpCase& c, std::ostream* out) { *out << c.name; }

class OpQuantizerTest : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpQuantizerTest, QdqPlacementParametersAndNumbers) {
  const OpCase& c = GetParam();
  onnx::ModelProto model = ParseModelText(ModelText(c));
  // Output shapes are left to shape inference (ONNX text has no syntax for an unknown rank).
  for (auto& out : *model.mutable_graph()->mutable_output()) out.mutable_type()->mutable_tensor_type()->clear_shape();
  VectorReader reader(Batches());
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, {.placement = QdqPlacement::kAllQuantizable}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
  const onnx::GraphProto& graph = quantized->graph();

  // The report: the op is quantized, or stays float for the stated reason.
  const auto left = std::find_if(report.left_float.begin(), report.left_float.end(),
                                 [&](const NodeDecision& d) { return d.op_type == c.op; });
  if (c.float_reason.empty()) {
    EXPECT_EQ(left, report.left_float.end()) << c.op << " left float: " << left->reason;
  } else {
    ASSERT_NE(left, report.left_float.end()) << c.op << " was quantized";
    EXPECT_EQ(left->reason.rfind(c.float_reason, 0), 0U) << left->reason;
  }

  // Structure: Q/DQ on the expected inputs and outputs of the op, and nowhere else around it.
  const onnx::NodeProto* node = nullptr;
  for (const auto& n : graph.node()) {
    if (n.op_type() == c.op) {
      ASSERT_EQ(node, nullptr) << "more than one " << c.op;
      node = &n;
    }
  }
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(InputKinds(graph, *node), c.inputs);
  EXPECT_EQ(OutputKinds(graph, *node), c.results);

  // Parameters: outputs share the data input's scale and zero point, or have their own. The data
  // input is the first quantized one (Where's input 1, after its bool condition; Gather's table).
  if (c.params != OutputParams::kNone) {
    const size_t data = c.inputs.find_first_of("qw");
    ASSERT_NE(data, std::string::npos);
    const auto* in_dq = FindProducer(graph, node->input(static_cast<int>(data)));
    ASSERT_NE(in_dq, nullptr);
    ASSERT_EQ(in_dq->op_type(), "DequantizeLinear");
    const auto in_params = Params(graph, *in_dq);
    for (const auto& out : node->output()) {
      const auto* out_q = FindConsumer(graph, out, "QuantizeLinear");
      if (out_q == nullptr) continue;  // an int64 output (MaxPool's Indices)
      const auto out_params = Params(graph, *out_q);
      if (c.params == OutputParams::kShared) {
        EXPECT_EQ(out_params, in_params) << out;
      } else {
        EXPECT_NE(out_params, in_params) << out << " shares its input's parameters";
      }
    }
  }

  // Numbers: the quantized model stays within the stated error of the float one.
  const Feeds input = Batches()[0];
  const std::vector<float> want = RunFirstOutput(model, input);
  ASSERT_TRUE(std::any_of(want.begin(), want.end(), [](float v) { return std::fabs(v) > 0.0F; }))
      << "the float output is all zeros";
  testing::ExpectWithinFractionOfPeak(want, RunFirstOutput(*quantized, input), c.tolerance);
}

// Unary ops with an output range of their own: input 0 and output 0 quantized.
std::vector<OpCase> OwnRangeCases() {
  auto unary = [](const std::string& name, const std::string& call, float tolerance = 0.02F) {
    return OpCase{.name = name,
                  .op = name,
                  .body = "  Y = " + call,
                  .outputs = "float Y",
                  .inputs = "q",
                  .results = "q",
                  .tolerance = tolerance};
  };
  std::vector<OpCase> cases = {
      unary("LeakyRelu", "LeakyRelu<alpha = 0.1>(C)"),
      unary("HardSigmoid", "HardSigmoid(C)"),
      unary("HardSwish", "HardSwish(C)"),
      // Slope 1 near 0 onto an output range of only [-1, 1]: C's rounding weighs more (2.5% measured).
      unary("Tanh", "Tanh(C)", 0.04F),
      unary("Erf", "Erf(C)", 0.04F),
      unary("Softmax", "Softmax<axis = 1>(C)"),
      unary("Sigmoid", "Sigmoid(C)"),
  };
  // LayerNormalization and InstanceNormalization: scale and bias stay float.
  cases.push_back({.name = "LayerNormalization",
                   .op = "LayerNormalization",
                   .initializers = "float[4] s = {1.0, 0.5, 2.0, 1.5}, float[4] b = {0.1, -0.2, 0.0, 0.3}",
                   .body = "  Y = LayerNormalization<axis = -1>(C, s, b)",
                   .outputs = "float Y",
                   .inputs = "qff",
                   .results = "q",
                   .tolerance = 0.035F});  // normalizing rows of 4 values magnifies C's rounding (1.7%)
  cases.push_back({.name = "InstanceNormalization",
                   .op = "InstanceNormalization",
                   .initializers = "float[4] s = {1.0, 0.5, 2.0, 1.5}, float[4] b = {0.1, -0.2, 0.0, 0.3}",
                   .body = "  Y = InstanceNormalization(C, s, b)",
                   .outputs = "float Y",
                   .inputs = "qff",
                   .results = "q"});
  // Binary and variadic ops: activations, and constants as weights.
  auto binary = [](const std::string& name, const std::string& op, const std::string& inits, const std::string& call,
                   const std::string& inputs) {
    return OpCase{.name = name,
                  .op = op,
                  .initializers = inits,
                  .body = "  Y = " + call,
                  .outputs = "float Y",
                  .inputs = inputs,
                  .results = "q"};
  };
  cases.push_back(
      binary("PReluConstantSlope", "PRelu", "float[4,1,1] slope = {0.1, 0.2, 0.3, 0.25}", "PRelu(C, slope)", "qw"));
  cases.push_back(binary("PReluActivationSlope", "PRelu", "", "PRelu(C, X)", "qq"));
  cases.push_back(binary("SubActivations", "Sub", "", "Sub(C, X)", "qq"));
  cases.push_back(binary("SubConstant", "Sub", "float k = {0.5}", "Sub(C, k)", "qw"));
  cases.push_back(binary("Max", "Max", "", "Max(C, X)", "qq"));
  cases.push_back(binary("MinWithConstantZero", "Min", "float zero = {0.0}", "Min(C, zero)", "qw"));
  cases.push_back(binary("EinsumActivations", "Einsum", "", "Einsum<equation = \"bchw,bchw->bhw\">(C, X)", "qq"));
  cases.push_back(binary("EinsumConstant", "Einsum", "float[3,4] e = " + Literal(Values(12, -1.0F, 1.0F, 11)),
                         "Einsum<equation = \"bchw,dc->bdhw\">(C, e)", "qw"));
  // Attention's Q K^T: two activations (K through a Transpose that shares X's parameters).
  cases.push_back({.name = "MatMulActivations",
                   .op = "MatMul",
                   .body = "  T = Transpose<perm = [0, 1, 3, 2]>(X)\n  Y = MatMul(C, T)",
                   .outputs = "float Y",
                   .inputs = "qq",
                   .results = "q"});
  // Where: the bool condition is not quantized.
  cases.push_back({.name = "Where",
                   .op = "Where",
                   .initializers = "float zero = {0.0}",
                   .body = "  B = Greater(X, zero)\n  Y = Where(B, C, X)",
                   .outputs = "float Y",
                   .inputs = "fqq",
                   .results = "q"});
  // Div: the divisor stays float; Pow: the exponent stays float.
  cases.push_back(binary("DivByConstant", "Div", "float d = {3.0}", "Div(C, d)", "qf"));
  cases.push_back(binary("PowSquare", "Pow", "float two = {2.0}", "Pow(C, two)", "qf"));
  // Pad with a constant other than 0: the value may lie off the input's grid (10 is beyond C's range).
  cases.push_back({.name = "PadNonZeroConstant",
                   .op = "Pad",
                   .initializers = "int64[8] pads = {0, 0, 1, 1, 0, 0, 1, 1}, float v = {10.0}",
                   .body = "  Y = Pad(C, pads, v)",
                   .outputs = "float Y",
                   .inputs = "qff",
                   .results = "q"});
  // An embedding table: a per-tensor weight, the output a range of its own; ArgMax gives the indices.
  cases.push_back({.name = "GatherFromEmbeddingTable",
                   .op = "Gather",
                   .initializers = "float[4,3] table = " + Literal(Values(12, -1.0F, 1.0F, 13)),
                   .body = "  I = ArgMax<axis = 1, keepdims = 0>(C)\n  Y = Gather(table, I)",
                   .outputs = "float Y",
                   .inputs = "wf",
                   .results = "q"});
  return cases;
}

// Data movement and selection: outputs share input 0's parameters; integer inputs stay as they are.
std::vector<OpCase> SharedCases() {
  auto shared = [](const std::string& name, const std::string& op, const std::string& inits, const std::string& call,
                   const std::string& inputs) {
    return OpCase{.name = name,
                  .op = op,
                  .initializers = inits,
                  .body = "  Y = " + call,
                  .outputs = "float Y",
                  .inputs = inputs,
                  .results = "q",
                  .params = OutputParams::kShared,
                  .tolerance = 0.015F};  // only C's rounding: 0.8% measured
  };
  std::vector<OpCase> cases = {
      shared("Slice", "Slice", "int64[1] starts = {1}, int64[1] ends = {3}, int64[1] axes = {2}",
             "Slice(C, starts, ends, axes)", "qfff"),
      shared("PadZero", "Pad", "int64[8] pads = {0, 0, 1, 1, 0, 0, 1, 1}", "Pad(C, pads)", "qf"),
      shared("PadExplicitZero", "Pad", "int64[8] pads = {0, 0, 1, 1, 0, 0, 1, 1}, float v = {0.0}", "Pad(C, pads, v)",
             "qff"),
      shared("PadReflect", "Pad", "int64[8] pads = {0, 0, 1, 1, 0, 0, 1, 1}", "Pad<mode = \"reflect\">(C, pads)", "qf"),
      shared("ReduceMax", "ReduceMax", "", "ReduceMax<axes = [1]>(C)", "q"),
      shared("ReduceMin", "ReduceMin", "", "ReduceMin<axes = [1]>(C)", "q"),
      shared("GlobalMaxPool", "GlobalMaxPool", "", "GlobalMaxPool(C)", "q"),
      shared("DepthToSpace", "DepthToSpace", "", "DepthToSpace<blocksize = 2>(C)", "q"),
      shared("SpaceToDepth", "SpaceToDepth", "", "SpaceToDepth<blocksize = 2>(C)", "q"),
      shared("Tile", "Tile", "int64[4] reps = {1, 2, 1, 1}", "Tile(C, reps)", "qf"),
      shared("Expand", "Expand", "int64[4] shape = {2, 4, 4, 4}", "Expand(C, shape)", "qf"),
      shared("Gather", "Gather", "int64[2] idx = {0, 2}", "Gather<axis = 1>(C, idx)", "qf"),
      shared("GatherElements", "GatherElements",
             "int64[1,1,4,4] idx = {0, 1, 2, 3, 3, 2, 1, 0, 1, 1, 2, 2, 0, 3, 0, 3}",
             "GatherElements<axis = 1>(C, idx)", "qf"),
      shared("Transpose", "Transpose", "", "Transpose<perm = [0, 2, 3, 1]>(C)", "q"),
  };
  cases.push_back({.name = "Split",
                   .op = "Split",
                   .initializers = "int64[2] split = {1, 3}",
                   .body = "  Y, Y2 = Split<axis = 1>(C, split)",
                   .outputs = "float Y, float Y2",
                   .inputs = "qf",
                   .results = "qq",
                   .params = OutputParams::kShared,
                   .tolerance = 0.015F});
  // MaxPool's int64 Indices output is not quantized.
  cases.push_back({.name = "MaxPoolWithIndices",
                   .op = "MaxPool",
                   .body = "  Y, Ind = MaxPool<kernel_shape = [2, 2]>(C)",
                   .outputs = "float Y, int64 Ind",
                   .inputs = "q",
                   .results = "qf",
                   .params = OutputParams::kShared,
                   .tolerance = 0.015F});
  return cases;
}

// Ops with an integer output: only the data input is quantized.
std::vector<OpCase> IndexCases() {
  std::vector<OpCase> cases;
  for (const std::string op : {"ArgMax", "ArgMin"}) {
    cases.push_back({.name = op,
                     .op = op,
                     .body = "  A = " + op + "<axis = 1>(C)\n  Y = Cast<to = 1>(A)",
                     .outputs = "float Y",
                     .inputs = "q",
                     .results = "f",
                     .params = OutputParams::kNone,
                     .tolerance = 0.0F});  // the same indices: C on its grid keeps their order here
  }
  return cases;
}

// Recurrent ops over C reshaped to [sequence 4, batch 4, features 4], hidden size 3.
OpCase RecurrentCase(const std::string& op, int gates) {
  const std::string w_dims = std::to_string(gates * 3);
  return {.name = op,
          .op = op,
          .initializers = "int64[3] seq = {4, 4, 4}, float[1," + w_dims + ",4] Wr = " +
                          Literal(Values(static_cast<size_t>(gates) * 12, -0.5F, 0.5F, 17)) + ", float[1," + w_dims +
                          ",3] Rr = " + Literal(Values(static_cast<size_t>(gates) * 9, -0.5F, 0.5F, 19)),
          .body = "  S = Reshape(C, seq)\n  Y = " + op + "<hidden_size = 3>(S, Wr, Rr)",
          .outputs = "float Y",
          .inputs = "qff",
          .results = "f",
          .params = OutputParams::kNone,
          .tolerance = 0.03F,  // C's rounding through the float recurrence (1.5% measured)
          .float_reason = "recurrent ops stay float (ONNX Runtime has no QDQ kernel for them)"};
}

// Ops left float on purpose, each with its reason in the report.
std::vector<OpCase> FloatCases() {
  auto left_float = [](const std::string& op, const std::string& body, const std::string& inputs, float tolerance) {
    return OpCase{.name = op,
                  .op = op,
                  .body = body,
                  .outputs = "float Y",
                  .inputs = inputs,
                  .results = "f",
                  .params = OutputParams::kNone,
                  .tolerance = tolerance,
                  .float_reason = op + " stays float"};
  };
  std::vector<OpCase> cases = {RecurrentCase("LSTM", 4), RecurrentCase("GRU", 3), RecurrentCase("RNN", 1)};
  // Only C is quantized: Log(Exp(C)) is C's rounding, Exp and Reciprocal turn it into a relative
  // error of about one step of C (1.2% and 1.4% measured), Sqrt into up to sqrt(step) near 0 (2.9%).
  cases.push_back(left_float("Log", "  E = Exp(C)\n  Y = Log(E)", "f", 0.02F));
  cases.push_back(left_float("Exp", "  Y = Exp(C)", "q", 0.03F));
  cases.push_back(left_float("ReduceMean", "  Y = ReduceMean<axes = [2, 3]>(C)", "q", 0.03F));
  cases.push_back(left_float("Sqrt", "  A = Abs(C)\n  Y = Sqrt(A)", "f", 0.06F));
  cases.push_back(left_float("Reciprocal", "  E = Exp(C)\n  Y = Reciprocal(E)", "f", 0.03F));
  // Pow with an exponent below 1 is a Sqrt or a Reciprocal.
  cases.push_back({.name = "PowSquareRoot",
                   .op = "Pow",
                   .initializers = "float half = {0.5}",
                   .body = "  A = Abs(C)\n  Y = Pow(A, half)",
                   .outputs = "float Y",
                   .inputs = "ff",
                   .results = "f",
                   .params = OutputParams::kNone,
                   .tolerance = 0.06F,
                   .float_reason = "an exponent below 1"});
  // A constant data input is never marked as an activation.
  cases.push_back({.name = "ExpandOfConstant",
                   .op = "Expand",
                   .initializers = "float[4,1,1] k = {0.5, -0.5, 1.0, 2.0}, int64[4] shape = {1, 4, 4, 4}",
                   .body = "  K = Expand(k, shape)\n  Y = Add(C, K)",
                   .outputs = "float Y",
                   .inputs = "ff",
                   .results = "q",  // read by the quantized Add
                   .params = OutputParams::kNone,
                   .float_reason = "data input is a constant"});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(OwnRange, OpQuantizerTest, ::testing::ValuesIn(OwnRangeCases()), CaseName);
INSTANTIATE_TEST_SUITE_P(SharedWithInput, OpQuantizerTest, ::testing::ValuesIn(SharedCases()), CaseName);
INSTANTIATE_TEST_SUITE_P(IntegerOutput, OpQuantizerTest, ::testing::ValuesIn(IndexCases()), CaseName);
INSTANTIATE_TEST_SUITE_P(LeftFloat, OpQuantizerTest, ::testing::ValuesIn(FloatCases()), CaseName);

// X [1,3,2,2] spanning exactly [-1, 3]: uint8 scale 4/255, zero point round(63.75) = 64 on X and on
// each of Split's three outputs. (Quantizing every op: with the default placement a Split that only
// the graph's outputs read stays float.)
TEST(OpQuantizersTest, SplitOutputsCarryTheInputsScaleAndZeroPoint) {
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,3,2,2] X) => (float[1,1,2,2] Y1, float[1,1,2,2] Y2, float[1,1,2,2] Y3)
<int64[3] split = {1, 1, 1}>
{
  Y1, Y2, Y3 = Split<axis = 1>(X, split)
}
)");
  const std::vector<float> x = {-1.0F, 0.5F, 3.0F, 0.0F, 2.0F, -0.5F, 1.0F, 0.25F, 2.5F, -0.75F, 1.5F, 0.1F};
  const Feeds batch = {Tensor::FromFloats("X", {1, 3, 2, 2}, x)};
  VectorReader reader({batch});
  QuantizeOptions options;
  options.placement = QdqPlacement::kAllQuantizable;
  auto quantized = QuantizeModel(model, &reader, options);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  const auto& graph = quantized->graph();
  for (const std::string tensor : {"X", "Y1", "Y2", "Y3"}) {
    const auto* scale = FindInitializer(graph, tensor + "_scale");
    const auto* zero_point = FindInitializer(graph, tensor + "_zero_point");
    ASSERT_NE(scale, nullptr) << tensor;
    ASSERT_NE(zero_point, nullptr) << tensor;
    EXPECT_FLOAT_EQ((*ToFloats(*scale))[0], 4.0F / 255.0F) << tensor;
    EXPECT_EQ((*ToInt64s(*zero_point))[0], 64) << tensor;
  }
  // Y1 is X's first channel on X's grid: -1 -> q 0, 0.5 -> q 96, 3 -> q 255, 0 -> q 64, read back as
  // (q - 64) * 4/255.
  const float step = 4.0F / 255.0F;
  const std::vector<float> y1 = RunFirstOutput(*quantized, batch);
  ASSERT_EQ(y1.size(), 4U);
  EXPECT_FLOAT_EQ(y1[0], -64 * step);
  EXPECT_FLOAT_EQ(y1[1], 32 * step);
  EXPECT_FLOAT_EQ(y1[2], 191 * step);
  EXPECT_FLOAT_EQ(y1[3], 0.0F);
}

// A Relu after an op whose output shares its input's grid (Transpose) cannot fold into it: the
// shared grid reaches below 0, so the Relu must stay and clip.
TEST(OpQuantizersTest, ReluAfterSharedOutputStaysAndClips) {
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,2,2,2] X) => (float[1,2,2,2] Y)
{
  T = Transpose<perm = [0, 1, 3, 2]>(X)
  Y = Relu(T)
}
)");
  const std::vector<float> x = {-1.0F, -0.5F, 0.0F, 0.25F, 0.5F, 0.75F, 3.0F, 0.1F};
  const Feeds batch = {Tensor::FromFloats("X", {1, 2, 2, 2}, x)};
  VectorReader reader({batch});
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(report.nodes_folded, 0);
  const std::vector<float> want = RunFirstOutput(model, batch);
  const std::vector<float> got = RunFirstOutput(*quantized, batch);
  ASSERT_EQ(got.size(), want.size());
  // Half a step of X's grid (4 / 255) plus half a step of Y's own grid over [0, 3] (3 / 255).
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 3.5F / 255.0F + 1e-6F) << i;
}

// A Where selecting a -inf constant (an attention mask) stays float: no grid holds -inf.
TEST(OpQuantizersTest, WhereWithInfiniteConstantStaysFloat) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,2,2,2] X) => (float[1,2,2,2] Y)
<float[2,2,1,1] W = {0.5, -0.25, 0.1, 0.2}, float zero = {0.0}, float minus_inf = {0.0}>
{
  C = Conv(X, W)
  B = Greater(X, zero)
  Y = Where(B, C, minus_inf)
}
)");
  // ONNX text has no literal for infinity.
  for (auto& init : *model.mutable_graph()->mutable_initializer()) {
    if (init.name() == "minus_inf") init.set_float_data(0, -std::numeric_limits<float>::infinity());
  }
  const std::vector<float> x = {-1.0F, -0.5F, 0.0F, 0.25F, 0.5F, 0.75F, 3.0F, 0.1F};
  VectorReader reader({{Tensor::FromFloats("X", {1, 2, 2, 2}, x)}});
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  const auto where = std::find_if(report.left_float.begin(), report.left_float.end(),
                                  [](const NodeDecision& d) { return d.op_type == "Where"; });
  ASSERT_NE(where, report.left_float.end());
  EXPECT_NE(where->reason.find("non-finite"), std::string::npos) << where->reason;
  // The Conv before it is still quantized, and the Where reads C through its Q/DQ.
  EXPECT_EQ(report.nodes_quantized, 1);
  const auto& nodes = quantized->graph().node();
  const auto node = std::find_if(nodes.begin(), nodes.end(), [](const auto& n) { return n.op_type() == "Where"; });
  ASSERT_NE(node, nodes.end());
  EXPECT_EQ(node->input(1), "C_DequantizeLinear_Output");
  EXPECT_EQ(node->input(2), "minus_inf");
}

// Gelu of the default domain needs opset 20, which libonnx 1.12 cannot check or infer: its marks are
// tested on the plan alone.
TEST(OpQuantizersTest, GeluGetsItsOwnOutputRange) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 9, opset_import: ["" : 20]>
g (float[1,4] X) => (float[1,4] Y)
{
  Y = Gelu(X)
}
)");
  const GraphView graph(model.mutable_graph());
  auto plan = MarkNodes(graph, {});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->marks.size(), 1U);
  const auto& intents = plan->marks[0].intents;
  ASSERT_EQ(intents.size(), 2U);
  EXPECT_EQ(intents[0].tensor, "X");
  EXPECT_EQ(intents[1].tensor, "Y");
  EXPECT_TRUE(intents[1].share_with.empty());
  EXPECT_EQ(TensorsToCalibrate(*plan), (std::vector<std::string>{"X", "Y"}));
}

// Split's outputs are all marked as sharing input 0; its `split` input is never marked.
TEST(OpQuantizersTest, SplitMarksEveryOutputSharedAndNoIntegerInput) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,6] X) => (float[1,2] A, float[1,2] B, float[1,2] C)
<int64[3] split = {2, 2, 2}>
{
  A, B, C = Split<axis = 1>(X, split)
}
)");
  const GraphView graph(model.mutable_graph());
  auto plan = MarkNodes(graph, {});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->marks.size(), 1U);
  std::map<std::string, std::string> shares;
  for (const auto& intent : plan->marks[0].intents) shares[intent.tensor] = intent.share_with;
  EXPECT_EQ(shares, (std::map<std::string, std::string>{{"X", ""}, {"A", "X"}, {"B", "X"}, {"C", "X"}}));
  EXPECT_EQ(TensorsToCalibrate(*plan), (std::vector<std::string>{"X"}));
}

}  // namespace
}  // namespace onnxq
