// convert_nchw_to_nhwc: the structure (NHWC input, a Transpose first, consumers rewired, other ranks
// left with a note) and the numbers (the converted model on NHWC data gives exactly the float model's
// output on the NCHW data).
#include "passes/convert_nchw_to_nhwc.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <string>
#include <vector>

#include "onnxq/optimize.h"
#include "passes/pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::RunPassOk;

// x [N, 3, 4, 5] -> Conv (3x3, pads 1) -> y [N, 2, 4, 5]; s [N, 2] -> Relu -> z.
onnx::ModelProto ConvModel() {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,3,4,5] x, float[N,2] s) => (float[N,2,4,5] y, float[N,2] z)
{
  y = Conv <pads = [1, 1, 1, 1]> (x, W)
  z = Relu (s)
}
)");
  testing::SetRandomInitializer(model, "W", {2, 3, 3, 3}, 7);
  return model;
}

// x [n, c, h, w] as x.transpose(0, 2, 3, 1): [n, h, w, c].
Tensor ToNhwc(const Tensor& x) {
  const int64_t n = x.shape[0];
  const int64_t c = x.shape[1];
  const int64_t h = x.shape[2];
  const int64_t w = x.shape[3];
  std::vector<float> values(x.floats().size());
  for (int64_t in = 0; in < n; ++in) {
    for (int64_t ic = 0; ic < c; ++ic) {
      for (int64_t ih = 0; ih < h; ++ih) {
        for (int64_t iw = 0; iw < w; ++iw) {
          values[static_cast<size_t>(((in * h + ih) * w + iw) * c + ic)] =
              x.floats()[static_cast<size_t>(((in * c + ic) * h + ih) * w + iw)];
        }
      }
    }
  }
  return Tensor::FromFloats(x.name, {n, h, w, c}, values);
}

std::vector<int64_t> Dims(const onnx::ValueInfoProto& input) {
  std::vector<int64_t> dims;
  for (const auto& d : input.type().tensor_type().shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return dims;
}

TEST(ConvertNchwToNhwcTest, FourDimensionalInputTakesNhwcAndATransposeRestoresNchw) {
  const onnx::ModelProto before = ConvModel();
  onnx::ModelProto after = before;
  const PassReport report = RunPassOk("convert_nchw_to_nhwc", after);
  EXPECT_EQ(report.changes, 1);
  // x: [N, 4, 5, 3], N still symbolic; s (rank 2) as it was, with a note.
  EXPECT_EQ(Dims(after.graph().input(0)), (std::vector<int64_t>{-1, 4, 5, 3}));
  EXPECT_EQ(after.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  EXPECT_EQ(Dims(after.graph().input(1)), (std::vector<int64_t>{-1, 2}));
  ASSERT_EQ(report.notes.size(), 2U);
  EXPECT_EQ(report.notes[0], "input 'x' takes NHWC data, Transpose to NCHW 'x_nchw'");
  EXPECT_EQ(report.notes[1], "input 's' stays as it is: it has rank 2, not 4");
  // The Transpose first, perm [0, 3, 1, 2], and the Conv reads its output.
  const onnx::NodeProto& transpose = after.graph().node(0);
  EXPECT_EQ(transpose.op_type(), "Transpose");
  EXPECT_EQ(transpose.input(0), "x");
  EXPECT_EQ(transpose.output(0), "x_nchw");
  ASSERT_EQ(transpose.attribute_size(), 1);
  EXPECT_EQ(std::vector<int64_t>(transpose.attribute(0).ints().begin(), transpose.attribute(0).ints().end()),
            (std::vector<int64_t>{0, 3, 1, 2}));
  EXPECT_EQ(after.graph().node(1).input(0), "x_nchw");
  EXPECT_NO_THROW(onnx::checker::check_model(after));

  // Two samples: the converted model on x.transpose(0, 2, 3, 1) gives the float model's outputs exactly.
  const Tensor x = testing::RandomTensor("x", {2, 3, 4, 5}, 11);
  const Tensor s = testing::RandomTensor("s", {2, 2}, 12);
  const auto expected = testing::RunAllOutputs(before, {x, s});
  const auto actual = testing::RunAllOutputs(after, {ToNhwc(x), s});
  ASSERT_EQ(expected.size(), 2U);
  EXPECT_EQ(expected[0].size(), 2U * 2 * 4 * 5);
  EXPECT_EQ(actual, expected);
}

TEST(ConvertNchwToNhwcTest, InputsOfUnknownRankOrAlsoOutputsStay) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,5] x, float u) => (float[1,3,4,5] x, float v) { v = Relu (u) }
)");
  testing::ClearShapes(model);
  // Shapes forgotten: x's rank is unknown too; with its shape back it is a graph output.
  const PassReport unknown = RunPassOk("convert_nchw_to_nhwc", model);
  EXPECT_EQ(unknown.changes, 0);
  EXPECT_EQ(unknown.notes.front(), "input 'x' stays as it is: its rank is unknown");
  for (int64_t d : {1, 3, 4, 5}) {
    model.mutable_graph()
        ->mutable_input(0)
        ->mutable_type()
        ->mutable_tensor_type()
        ->mutable_shape()
        ->add_dim()
        ->set_dim_value(d);
  }
  const PassReport output = RunPassOk("convert_nchw_to_nhwc", model);
  EXPECT_EQ(output.changes, 0);
  EXPECT_EQ(output.notes.front(), "input 'x' stays as it is: it is also a graph output");
}

TEST(ConvertNchwToNhwcTest, InputsAsFedAreNhwcWithTheOption) {
  const onnx::ModelProto model = ConvModel();
  const onnx::ModelProto nchw = InputsAsFed(model, {});
  const onnx::ModelProto nhwc = InputsAsFed(model, {.convert_nchw_to_nhwc = true});
  ASSERT_EQ(nchw.graph().input_size(), 2);
  EXPECT_EQ(nchw.graph().initializer_size(), 0);
  EXPECT_EQ(Dims(nchw.graph().input(0)), (std::vector<int64_t>{-1, 3, 4, 5}));
  ASSERT_EQ(nhwc.graph().input_size(), 2);
  EXPECT_EQ(Dims(nhwc.graph().input(0)), (std::vector<int64_t>{-1, 4, 5, 3}));
  EXPECT_EQ(Dims(nhwc.graph().input(1)), (std::vector<int64_t>{-1, 2}));
}

}  // namespace
}  // namespace onnxq
