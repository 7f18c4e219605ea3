// MaterializeQdq on plans built by hand (parameters chosen, not decided): which tensors get Q/DQ and
// where in the node order, the quantized initializers' values worked out from the parameters, a
// folded Relu's removal, per-channel axes, and ONNX Runtime's com.microsoft domain.
#include "quantizer/materialize_qdq.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <map>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "quantizer/conv_relu.h"
#include "testing/model_text.h"

namespace onnxq {
namespace {

using testing::ConvReluModel;

TensorQuant Quant(TensorRole role, QuantType type, int axis, std::vector<QuantParams> params) {
  return {.role = role,
          .type = type,
          .axis = axis,
          .params = std::move(params),
          .range = QuantRange(type, {.symmetric = role == TensorRole::kWeight})};
}

// The Relu folded into the Conv (which now writes Y); X and Y uint8, W int8 with scale 0.25 (one or
// per channel), B int32 with scale 0.01.
QuantPlan FoldedPlan(std::vector<QuantParams> weight_params) {
  QuantPlan plan;
  plan.marks.push_back({.node = 0});
  plan.removed_nodes = {1};
  plan.renamed_outputs = {{"C", "Y"}};
  const int axis = weight_params.size() > 1 ? 0 : -1;
  const std::vector<QuantParams> bias_params(weight_params.size(), {.scale = 0.01F});
  plan.tensors["X"] = Quant(TensorRole::kActivation, QuantType::kUInt8, -1, {{.scale = 0.0625F, .zero_point = 16}});
  plan.tensors["Y"] = Quant(TensorRole::kActivation, QuantType::kUInt8, -1, {{.scale = 0.125F}});
  plan.tensors["W"] = Quant(TensorRole::kWeight, QuantType::kInt8, axis, std::move(weight_params));
  plan.tensors["B"] = Quant(TensorRole::kBias, QuantType::kInt32, axis, bias_params);
  return plan;
}

const onnx::TensorProto& Initializer(onnx::ModelProto& model, const std::string& name) {
  GraphView view(model.mutable_graph());
  const auto* init = view.Initializer(name);
  EXPECT_NE(init, nullptr) << name;
  static const onnx::TensorProto kNone;
  return init != nullptr ? *init : kNone;
}

std::vector<std::string> Inputs(const onnx::NodeProto& node) { return {node.input().begin(), node.input().end()}; }

TEST(MaterializeQdqTest, QdqAroundTheConvQuantizedWeightsAndTheFoldedReluGone) {
  auto model = ConvReluModel();
  ASSERT_TRUE(MaterializeQdq(FoldedPlan({{.scale = 0.25F}}), &model).ok());
  EXPECT_NO_THROW(onnx::checker::check_model(model));

  // Weights and graph inputs first (planned tensors by name: B, W, X), then the Conv, then Y's Q/DQ
  // right after it; the Relu is gone.
  std::vector<std::string> ops;
  for (const auto& node : model.graph().node()) ops.push_back(node.op_type() + " " + node.output(0));
  EXPECT_EQ(ops, (std::vector<std::string>{
                     "DequantizeLinear B_DequantizeLinear_Output", "DequantizeLinear W_DequantizeLinear_Output",
                     "QuantizeLinear X_QuantizeLinear_Output", "DequantizeLinear X_DequantizeLinear_Output",
                     "Conv Y_QuantizeInput", "QuantizeLinear Y_QuantizeLinear_Output", "DequantizeLinear Y"}));
  const auto& conv = model.graph().node(4);
  EXPECT_EQ(Inputs(conv), (std::vector<std::string>{"X_DequantizeLinear_Output", "W_DequantizeLinear_Output",
                                                    "B_DequantizeLinear_Output"}));
  EXPECT_EQ(Inputs(model.graph().node(2)), (std::vector<std::string>{"X", "X_scale", "X_zero_point"}));
  EXPECT_EQ(Inputs(model.graph().node(5)), (std::vector<std::string>{"Y_QuantizeInput", "Y_scale", "Y_zero_point"}));
  EXPECT_EQ(model.graph().output(0).name(), "Y");  // the graph output keeps its name

  // W / 0.25 = {2, -1, 0.4, 0.8, -1.2, 0.2}, rounded; B / 0.01 = {10, -20, 30}.
  EXPECT_EQ(Initializer(model, "W_quantized").data_type(), onnx::TensorProto::INT8);
  EXPECT_EQ(*ToInt64s(Initializer(model, "W_quantized")), (std::vector<int64_t>{2, -1, 0, 1, -1, 0}));
  EXPECT_EQ(Dims(Initializer(model, "W_quantized")), (std::vector<int64_t>{3, 2, 1, 1}));
  EXPECT_EQ(Initializer(model, "B_quantized").data_type(), onnx::TensorProto::INT32);
  EXPECT_EQ(*ToInt64s(Initializer(model, "B_quantized")), (std::vector<int64_t>{10, -20, 30}));
  // Per-tensor parameters are scalars; zero points have the quantized type.
  EXPECT_TRUE(Dims(Initializer(model, "X_scale")).empty());
  EXPECT_EQ(*ToFloats(Initializer(model, "X_scale")), (std::vector<float>{0.0625F}));
  EXPECT_EQ(Initializer(model, "X_zero_point").data_type(), onnx::TensorProto::UINT8);
  EXPECT_EQ(*ToInt64s(Initializer(model, "X_zero_point")), (std::vector<int64_t>{16}));
  // The float weight and bias are gone.
  GraphView view(model.mutable_graph());
  EXPECT_FALSE(view.IsInitializer("W"));
  EXPECT_FALSE(view.IsInitializer("B"));
}

TEST(MaterializeQdqTest, PerChannelWeightsGetAnAxisAndAScaleEach) {
  auto model = ConvReluModel();
  // Channel scales 0.25, 0.1, 0.05: {0.5, -0.25} -> {2, -1}, {0.1, 0.2} -> {1, 2}, {-0.3, 0.05} -> {-6, 1}.
  ASSERT_TRUE(MaterializeQdq(FoldedPlan({{.scale = 0.25F}, {.scale = 0.1F}, {.scale = 0.05F}}), &model).ok());
  EXPECT_NO_THROW(onnx::checker::check_model(model));
  EXPECT_EQ(*ToInt64s(Initializer(model, "W_quantized")), (std::vector<int64_t>{2, -1, 1, 2, -6, 1}));
  EXPECT_EQ(Dims(Initializer(model, "W_scale")), (std::vector<int64_t>{3}));
  EXPECT_EQ(*ToFloats(Initializer(model, "W_scale")), (std::vector<float>{0.25F, 0.1F, 0.05F}));
  const auto& w_dq = model.graph().node(1);
  ASSERT_EQ(w_dq.output(0), "W_DequantizeLinear_Output");
  ASSERT_EQ(w_dq.attribute_size(), 1);
  EXPECT_EQ(w_dq.attribute(0).name(), "axis");
  EXPECT_EQ(w_dq.attribute(0).i(), 0);
  const auto& x_q = model.graph().node(2);
  EXPECT_EQ(x_q.attribute_size(), 0);  // per tensor: no axis
}

// Shape and Size read the quantized tensor, so no DequantizeLinear runs for them alone: R's reader
// Reshape keeps the dequantized tensor; S, read only by Shape, keeps no DequantizeLinear at all.
TEST(MaterializeQdqTest, ShapeReadersReadTheQuantizedTensor) {
  auto model = testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,6] X) => (float[3,4] Y, int64[2] P, int64[2] T, int64 N)
<int64[2] three_four = {3, 4}>
{
  R = Relu (X)
  S = Sigmoid (X)
  P = Shape (R)
  T = Shape (S)
  N = Size (R)
  Y = Reshape (R, three_four)
}
)");
  QuantPlan plan;
  for (const std::string tensor : {"R", "S"}) {
    plan.tensors[tensor] = Quant(TensorRole::kActivation, QuantType::kUInt8, -1, {{.scale = 0.5F}});
  }
  ASSERT_TRUE(MaterializeQdq(plan, &model).ok());
  EXPECT_NO_THROW(onnx::checker::check_model(model));
  std::map<std::string, std::vector<std::string>> inputs_of;
  int dequantize = 0;
  for (const auto& node : model.graph().node()) {
    inputs_of[node.output(0)] = Inputs(node);
    dequantize += node.op_type() == "DequantizeLinear" ? 1 : 0;
  }
  EXPECT_EQ(inputs_of.at("P")[0], "R_QuantizeLinear_Output");
  EXPECT_EQ(inputs_of.at("T")[0], "S_QuantizeLinear_Output");
  EXPECT_EQ(inputs_of.at("N")[0], "R_QuantizeLinear_Output");
  EXPECT_EQ(inputs_of.at("Y")[0], "R_DequantizeLinear_Output");
  EXPECT_EQ(dequantize, 1);  // R's
  EXPECT_FALSE(inputs_of.contains("S_DequantizeLinear_Output"));
}

TEST(MaterializeQdqTest, ValuesBeyondTheGridSaturate) {
  auto model = ConvReluModel();
  // Scale 0.002 puts 0.5 at 250 and -0.3 at -150: both clamp to the symmetric int8 range.
  ASSERT_TRUE(MaterializeQdq(FoldedPlan({{.scale = 0.002F}}), &model).ok());
  EXPECT_EQ(*ToInt64s(Initializer(model, "W_quantized")), (std::vector<int64_t>{127, -125, 50, 100, -127, 25}));
}

TEST(MaterializeQdqTest, AnUnfoldedReluKeepsItsQdqAndTheMicrosoftDomainIsImported) {
  auto model = ConvReluModel();
  QuantPlan plan;
  plan.marks.push_back({.node = 1});
  plan.tensors["C"] = Quant(TensorRole::kActivation, QuantType::kUInt8, -1, {{.scale = 0.125F, .zero_point = 8}});
  plan.tensors["Y"] = plan.tensors["C"];
  ASSERT_TRUE(MaterializeQdq(plan, &model, {.domain = QdqDomain::kMicrosoft}).ok());
  std::vector<std::string> ops;
  for (const auto& node : model.graph().node()) {
    ops.push_back(node.op_type() + " " + node.output(0));
    if (node.op_type() == "QuantizeLinear" || node.op_type() == "DequantizeLinear") {
      EXPECT_EQ(node.domain(), "com.microsoft") << node.name();
    }
  }
  // The float Conv writes C, quantized right after it; the Relu reads the dequantized C.
  EXPECT_EQ(ops, (std::vector<std::string>{"Conv C", "QuantizeLinear C_QuantizeLinear_Output",
                                           "DequantizeLinear C_DequantizeLinear_Output", "Relu Y_QuantizeInput",
                                           "QuantizeLinear Y_QuantizeLinear_Output", "DequantizeLinear Y"}));
  EXPECT_EQ(model.graph().node(3).input(0), "C_DequantizeLinear_Output");
  bool imported = false;
  for (const auto& opset : model.opset_import()) imported |= opset.domain() == "com.microsoft" && opset.version() == 1;
  EXPECT_TRUE(imported);
  // The weights were not planned: they stay float.
  GraphView view(model.mutable_graph());
  EXPECT_TRUE(view.IsInitializer("W"));
  EXPECT_EQ(view.graph().node(0).input(1), "W");
}

}  // namespace
}  // namespace onnxq
