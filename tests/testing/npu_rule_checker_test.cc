// The NPU rule checker on small QDQ models, each breaking one rule once (and a clean twin breaking
// none). Positions are written as scales 2^-pos; activations are uint8 with zero point 128.
#include "testing/npu_rule_checker.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "testing/model_text.h"

namespace onnxq::testing {
namespace {

using Violations = std::vector<std::string>;

// 2^-pos as a decimal literal (exact once read back as float).
std::string Scale(int pos) {
  std::ostringstream text;
  text.precision(17);
  text << std::ldexp(1.0, -pos);
  return text.str();
}

// `text` with each @KEY@ replaced by its value.
std::string Fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    const std::string token = "@" + key + "@";
    for (std::size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + value.size())) {
      text.replace(at, token.size(), value);
    }
  }
  return text;
}

// X -> Q/DQ -> OP(x, DQ(w), DQ(b)) -> ACTIVATION -> Q/DQ -> Y. Defaults: ipos 4, wpos 6, bpos 8, opos 4
// (shift_cut 6, shift_bias 2 within [-10, 15]), fused Relu.
onnx::ModelProto ConvModel(const std::map<std::string, std::string>& overrides = {}) {
  std::map<std::string, std::string> values = {
      {"OP", "Conv"},
      {"X", Scale(4)},
      {"W", "float ws = {" + Scale(6) + "}"},
      {"WDATA", "int8[2,2,1,1] w = {1, 2, 3, 4}"},
      {"WZ", "int8 wz = {0}"},
      {"B", "float bs = {" + Scale(8) + "}"},
      {"BDATA", "int8[2] b = {1, -1}"},
      {"BZ", "int8 bz = {0}"},
      {"Y", Scale(4)},
      {"Z", "uint8 z = {128}"},
      {"ACTIVATION", "a = Relu(c)"},
  };
  for (const auto& [key, value] : overrides) values[key] = value;
  return ParseModelText(Fill(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,2,4,4] Y)
<@WDATA@, @W@, @WZ@, @BDATA@, @B@, @BZ@, float xs = {@X@}, float ys = {@Y@}, @Z@>
{
  xq = QuantizeLinear(X, xs, z)
  xd = DequantizeLinear(xq, xs, z)
  wd = DequantizeLinear(w, ws, wz)
  bd = DequantizeLinear(b, bs, bz)
  c = @OP@(xd, wd, bd)
  @ACTIVATION@
  yq = QuantizeLinear(a, ys, z)
  Y = DequantizeLinear(yq, ys, z)
}
)",
                             values));
}

// A, B -> Q/DQ each -> OP -> Q/DQ -> Y.
onnx::ModelProto BinaryModel(const std::string& op, int a, int b, int y) {
  return ParseModelText(Fill(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] A, float[1,4] B) => (float[1,4] Y)
<float sa = {@A@}, float sb = {@B@}, float sy = {@Y@}, uint8 z = {128}>
{
  aq = QuantizeLinear(A, sa, z)
  ad = DequantizeLinear(aq, sa, z)
  bq = QuantizeLinear(B, sb, z)
  bd = DequantizeLinear(bq, sb, z)
  y = @OP@(ad, bd)
  yq = QuantizeLinear(y, sy, z)
  Y = DequantizeLinear(yq, sy, z)
}
)",
                             {{"OP", op}, {"A", Scale(a)}, {"B", Scale(b)}, {"Y", Scale(y)}}));
}

// Swish as SimulateDPU leaves it: y = x * (HardSigmoid(x) * k), positions x, h (of HardSigmoid * k), y.
onnx::ModelProto SwishModel(int x, int h, int y, const std::string& alpha = "0.16666667") {
  return ParseModelText(Fill(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,4] Y)
<float sx = {@X@}, float sh = {@H@}, float sy = {@Y@}, uint8 z = {128}, float k = {1.00012207}>
{
  xq = QuantizeLinear(X, sx, z)
  xd = DequantizeLinear(xq, sx, z)
  h = HardSigmoid <alpha = @ALPHA@, beta = 0.5> (xd)
  hk = Mul(h, k)
  hq = QuantizeLinear(hk, sh, z)
  hd = DequantizeLinear(hq, sh, z)
  y = Mul(xd, hd)
  yq = QuantizeLinear(y, sy, z)
  Y = DequantizeLinear(yq, sy, z)
}
)",
                             {{"X", Scale(x)}, {"H", Scale(h)}, {"Y", Scale(y)}, {"ALPHA", alpha}}));
}

// X -> Q/DQ -> NODE (reading xd, writing y) -> Q/DQ -> Y, input position x and output position y.
onnx::ModelProto UnaryModel(const std::string& node, int x, int y) {
  return ParseModelText(Fill(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,2,4,4] Y)
<float sx = {@X@}, float sy = {@Y@}, uint8 z = {128}, int64[8] pads = {0, 0, 1, 1, 0, 0, 1, 1},
 int64[1] starts = {0}, int64[1] ends = {1}, float k = {0.984375}>
{
  xq = QuantizeLinear(X, sx, z)
  xd = DequantizeLinear(xq, sx, z)
  @NODE@
  yq = QuantizeLinear(y, sy, z)
  Y = DequantizeLinear(yq, sy, z)
}
)",
                             {{"NODE", node}, {"X", Scale(x)}, {"Y", Scale(y)}}));
}

TEST(NpuRuleCheckerTest, CleanModelsReportNothing) {
  EXPECT_EQ(CheckNpuRules(ConvModel()), Violations{});
  EXPECT_EQ(CheckNpuRules(ConvModel({{"OP", "Gemm"}})), Violations{});
  EXPECT_EQ(CheckNpuRules(ConvModel({{"OP", "ConvTranspose"}})), Violations{});
  EXPECT_EQ(CheckNpuRules(BinaryModel("Add", 5, 6, 4)), Violations{});
  EXPECT_EQ(CheckNpuRules(BinaryModel("Sub", 5, 6, 4)), Violations{});
  EXPECT_EQ(CheckNpuRules(BinaryModel("Mul", 5, 6, 4)), Violations{});
  EXPECT_EQ(CheckNpuRules(BinaryModel("Concat <axis = 1>", 3, 3, 3)), Violations{});
  EXPECT_EQ(CheckNpuRules(SwishModel(5, 7, 4)), Violations{});
  EXPECT_EQ(CheckNpuRules(UnaryModel("y = MaxPool <kernel_shape = [2, 2]> (xd)", 5, 5)), Violations{});
  EXPECT_EQ(CheckNpuRules(UnaryModel("y = Pad(xd, pads)", 5, 5)), Violations{});
  EXPECT_EQ(CheckNpuRules(UnaryModel("y = Slice(xd, starts, ends)", 5, 5)), Violations{});
}

TEST(NpuRuleCheckerTest, ScaleNotAPowerOfTwo) {
  // xs is shared by the input's Q and DQ: reported once. The conv's shift rules lose their input position.
  EXPECT_EQ(CheckNpuRules(ConvModel({{"X", "0.3"}})),
            (Violations{"PowerOfTwoScale scale 'xs' of QuantizeLinear 'xq': 0.300000012 is not a power of two"}));
}

TEST(NpuRuleCheckerTest, PerChannelScale) {
  EXPECT_EQ(CheckNpuRules(ConvModel({{"W", "float[2] ws = {0.015625, 0.015625}"}})),
            (Violations{"PerTensor scale 'ws' of DequantizeLinear 'wd': 2 values"}));
}

TEST(NpuRuleCheckerTest, AsymmetricZeroPoints) {
  EXPECT_EQ(CheckNpuRules(ConvModel({{"Z", "uint8 z = {127}"}})),
            (Violations{"SymmetricZeroPoint zero point 'z' of QuantizeLinear 'xq': uint8 127, expected 128"}));
  EXPECT_EQ(CheckNpuRules(ConvModel({{"WZ", "int8 wz = {1}"}})),
            (Violations{"SymmetricZeroPoint zero point 'wz' of DequantizeLinear 'wd': int8 1, expected 0"}));
}

TEST(NpuRuleCheckerTest, WeightNotInt8) {
  EXPECT_EQ(CheckNpuRules(ConvModel({{"WDATA", "uint8[2,2,1,1] w = {1, 2, 3, 4}"}, {"WZ", "uint8 wz = {128}"}})),
            (Violations{"Int8Weight Conv 'c': weight 'wd' is dequantized from uint8 'w', expected int8"}));
  // Quantized while the model runs: float weight -> Q -> DQ.
  const onnx::ModelProto runtime_quantized = ParseModelText(Fill(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,2,4,4] Y)
<float[2,2,1,1] wf = {0.1, 0.2, 0.3, 0.4}, float ws = {@W@}, int8 wz = {0}, float s = {@S@}, uint8 z = {128}>
{
  xq = QuantizeLinear(X, s, z)
  xd = DequantizeLinear(xq, s, z)
  wq = QuantizeLinear(wf, ws, wz)
  wd = DequantizeLinear(wq, ws, wz)
  Y = Conv(xd, wd)
  float_weight = Conv(xd, wf)
}
)",
                                                                 {{"W", Scale(6)}, {"S", Scale(4)}}));
  EXPECT_EQ(CheckNpuRules(runtime_quantized),
            (Violations{"Int8Weight Conv 'Y': weight 'wd' is dequantized from 'wq', which is not an initializer",
                        "Int8Weight Conv 'float_weight': weight 'wf' is not the output of a DequantizeLinear"}));
}

TEST(NpuRuleCheckerTest, BiasType) {
  const std::map<std::string, std::string> int32_bias = {{"BDATA", "int32[2] b = {1, -1}"}, {"BZ", "int32 bz = {0}"}};
  EXPECT_EQ(CheckNpuRules(ConvModel(int32_bias)),
            (Violations{"BiasType Conv 'c': bias 'bd' is dequantized from int32 'b', expected int8"}));
  EXPECT_EQ(CheckNpuRules(ConvModel(int32_bias), {.int32_bias = true}), Violations{});
  EXPECT_EQ(CheckNpuRules(ConvModel(), {.int32_bias = true}),
            (Violations{"BiasType Conv 'c': bias 'bd' is dequantized from int8 'b', expected int32"}));
}

TEST(NpuRuleCheckerTest, QdqBeforeAFusedActivation) {
  // c -> Q/DQ -> Relu: the output position is read off c's own Q, at the same scale, so only the pair
  // itself is wrong.
  EXPECT_EQ(CheckNpuRules(ConvModel({{"ACTIVATION", R"(cq = QuantizeLinear(c, ys, z)
  cd = DequantizeLinear(cq, ys, z)
  a = Relu(cd))"}})),
            (Violations{"FusedActivation Conv 'c': QuantizeLinear 'cq' and DequantizeLinear 'cd' between it and "
                        "Relu 'a'"}));
  // An Add whose output is read by something else too is not fused.
  const onnx::ModelProto shared = ParseModelText(Fill(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] A) => (float[1,4] Y, float[1,4] S)
<float s = {@S@}, uint8 z = {128}>
{
  aq = QuantizeLinear(A, s, z)
  ad = DequantizeLinear(aq, s, z)
  t = Add(ad, ad)
  tq = QuantizeLinear(t, s, z)
  td = DequantizeLinear(tq, s, z)
  Y = Relu(td)
  S = Sigmoid(t)
}
)",
                                                      {{"S", Scale(4)}}));
  EXPECT_EQ(CheckNpuRules(shared), Violations{});
}

TEST(NpuRuleCheckerTest, ShiftCut) {
  // 20 + 4 - 4 = 20 > 16; bias 20 + 4 - 14 = 10 within [min(0, 4), 15].
  const std::map<std::string, std::string> positions = {{"W", "float ws = {" + Scale(20) + "}"},
                                                        {"B", "float bs = {" + Scale(14) + "}"}};
  EXPECT_EQ(CheckNpuRules(ConvModel(positions)),
            (Violations{"AdjustShiftCut Conv 'c': wpos 20 + ipos 4 - opos 4 = 20, outside [0, 16]"}));
  std::map<std::string, std::string> gemm = positions;
  gemm["OP"] = "Gemm";
  EXPECT_EQ(CheckNpuRules(ConvModel(gemm)),
            (Violations{"AdjustShiftCut Gemm 'c': wpos 20 + ipos 4 - opos 4 = 20, outside [0, 16]"}));
}

// The initializers' values moved to raw_data, as model writers store them.
void MoveToRawData(onnx::ModelProto& model) {
  for (onnx::TensorProto& tensor : *model.mutable_graph()->mutable_initializer()) {
    std::string raw;
    if (tensor.data_type() == onnx::TensorProto::FLOAT) {
      for (float value : tensor.float_data()) raw.append(reinterpret_cast<const char*>(&value), sizeof(value));
      tensor.clear_float_data();
    } else if (tensor.data_type() == onnx::TensorProto::INT8 || tensor.data_type() == onnx::TensorProto::UINT8) {
      for (int32_t value : tensor.int32_data()) raw.push_back(static_cast<char>(value));
      tensor.clear_int32_data();
    } else {
      continue;
    }
    tensor.set_raw_data(raw);
  }
}

TEST(NpuRuleCheckerTest, ReadsRawData) {
  onnx::ModelProto model = ConvModel(
      {{"W", "float ws = {" + Scale(20) + "}"}, {"B", "float bs = {" + Scale(14) + "}"}, {"Z", "uint8 z = {127}"}});
  MoveToRawData(model);
  ASSERT_TRUE(model.graph().initializer(0).has_raw_data());
  EXPECT_EQ(CheckNpuRules(model),
            (Violations{"SymmetricZeroPoint zero point 'z' of QuantizeLinear 'xq': uint8 127, expected 128",
                        "AdjustShiftCut Conv 'c': wpos 20 + ipos 4 - opos 4 = 20, outside [0, 16]"}));
}

TEST(NpuRuleCheckerTest, ShiftBias) {
  // 6 + 4 - (-8) = 18 > 15.
  EXPECT_EQ(CheckNpuRules(ConvModel({{"B", "float bs = {" + Scale(-8) + "}"}})),
            (Violations{"AdjustShiftBias Conv 'c': wpos 6 + ipos 4 - bpos -8 = 18, outside [-10, 15] (shift_cut 6)"}));
  // bpos 12: 6 + 4 - 12 = -2, within [-10, 15] after a Relu, below [0, 15] after a LeakyRelu.
  const std::map<std::string, std::string> bias12 = {{"B", "float bs = {" + Scale(12) + "}"}};
  EXPECT_EQ(CheckNpuRules(ConvModel(bias12)), Violations{});
  std::map<std::string, std::string> leaky = bias12;
  leaky["ACTIVATION"] = "a = LeakyRelu <alpha = 0.1015625> (c)";
  EXPECT_EQ(CheckNpuRules(ConvModel(leaky)),
            (Violations{"AdjustShiftBias Conv 'c': wpos 6 + ipos 4 - bpos 12 = -2, outside [0, 15] (shift_cut 6)"}));
}

TEST(NpuRuleCheckerTest, ShiftRead) {
  // Both within the write range: min 2 - 2 = 0.
  EXPECT_EQ(CheckNpuRules(BinaryModel("Add", 10, 2, 2)),
            (Violations{"AdjustShiftRead Add 'y': input positions [10, 2] are 8 apart, more than 7"}));
  EXPECT_EQ(CheckNpuRules(BinaryModel("Sub", 1, 12, 0)),
            (Violations{"AdjustShiftRead Sub 'y': input positions [1, 12] are 11 apart, more than 7"}));
}

TEST(NpuRuleCheckerTest, ShiftWrite) {
  EXPECT_EQ(CheckNpuRules(BinaryModel("Add", 5, 6, 13)),
            (Violations{"AdjustShiftWrite Add 'y': min ipos 5 - opos 13 = -8, outside [-7, 25]"}));
  EXPECT_EQ(CheckNpuRules(BinaryModel("Mul", 10, 12, -11)),
            (Violations{"AdjustShiftWrite Mul 'y': sum of ipos [10, 12] - opos -11 = 33, outside [0, 32]"}));
  // Sub has no write rule.
  EXPECT_EQ(CheckNpuRules(BinaryModel("Sub", 5, 6, 13)), Violations{});
}

TEST(NpuRuleCheckerTest, HardSigmoid) {
  // The output position is the Q after SimulateDPU's constant Mul.
  EXPECT_EQ(CheckNpuRules(SwishModel(5, 6, 4)), (Violations{"AdjustHardSigmoid HardSigmoid 'h': opos 6, below 7"}));
  // 14 + 5 - 20 = -1 (swish 5 + 20 - 12 = 13 holds).
  EXPECT_EQ(CheckNpuRules(SwishModel(5, 20, 12)),
            (Violations{"AdjustHardSigmoid HardSigmoid 'h': 14 + ipos 5 - opos 20 = -1, outside [0, 31]"}));
  // Not the DPU's HardSigmoid (alpha 0.2): neither its rule nor Swish's applies.
  EXPECT_EQ(CheckNpuRules(SwishModel(5, 6, -5, "0.2")), Violations{});
}

TEST(NpuRuleCheckerTest, ShiftSwish) {
  // 5 + 7 - (-4) = 16 > 15; as a Mul's write shift, 16 is within [0, 32].
  EXPECT_EQ(CheckNpuRules(SwishModel(5, 7, -4)),
            (Violations{"AdjustShiftSwish Mul 'y': ipos 5 + ipos 7 - opos -4 = 16, outside [0, 15]"}));
}

TEST(NpuRuleCheckerTest, Concat) {
  EXPECT_EQ(CheckNpuRules(BinaryModel("Concat <axis = 1>", 5, 3, 3)),
            (Violations{"AlignConcat Concat 'y': input positions [5, 3] and output position 3 differ"}));
}

TEST(NpuRuleCheckerTest, PoolPadAndSlice) {
  EXPECT_EQ(CheckNpuRules(UnaryModel("y = MaxPool <kernel_shape = [2, 2]> (xd)", 5, 7)),
            (Violations{"AlignPool MaxPool 'y': ipos 5 != opos 7"}));
  EXPECT_EQ(CheckNpuRules(UnaryModel("y = GlobalAveragePool(xd)", 7, 5)),
            (Violations{"AlignPool GlobalAveragePool 'y': ipos 7 != opos 5"}));
  // SimulateDPU's correction after an AveragePool: the output position is the Q after the Mul.
  EXPECT_EQ(CheckNpuRules(UnaryModel(R"(t = AveragePool <kernel_shape = [3, 3]> (xd)
  y = Mul(t, k))",
                                     5, 7)),
            (Violations{"AlignPool AveragePool 't': ipos 5 != opos 7"}));
  EXPECT_EQ(CheckNpuRules(UnaryModel("y = Pad(xd, pads)", 6, 4)), (Violations{"AlignPad Pad 'y': ipos 6 != opos 4"}));
  EXPECT_EQ(CheckNpuRules(UnaryModel("y = Slice(xd, starts, ends)", 1, 9)),
            (Violations{"AlignSlice Slice 'y': ipos 1 != opos 9"}));
}

}  // namespace
}  // namespace onnxq::testing
