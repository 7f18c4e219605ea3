#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// crop_padding_taps: kernel taps of a Conv that read only padding, at every output position, are cut
// from its weight. DeepLabV3's atrous pyramid at 224 x 224 has 3 x 3 convolutions with dilation 24 and
// 36 over a 14 x 14 map: every tap but the centre lands in the padding, so each is a 1 x 1 convolution
// that computes nine times the multiplies (ONNX Runtime's integer kernel does not skip them).
//
//   Before:  Y = Conv<kernel k, stride s, dilation d, pads (b, e)>(X, W[M, C/g, k], B)   per spatial axis
//   After:   Y = Conv<kernel k' = hi - lo + 1, pads (b - lo d, e - (k - 1 - hi) d)>(X, W[:, :, lo..hi], B)
//
// Along an axis of size H with n = (H + b + e - d (k - 1) - 1) / s + 1 outputs, tap t reads input
// positions o s - b + t d, o = 0 .. n - 1; it reads some real input when t d - b <= H - 1 and
// (n - 1) s - b + t d >= 0, which holds for t in [lo, hi]. The taps outside only ever multiply zeros,
// and the new pads keep every remaining tap's position and the output size: the same function, exactly,
// for this input size. An axis cut to one tap gets dilation 1.
//
// Preconditions: default-domain Conv; X's spatial dims known (shape inference; a symbolic or unknown
// height or width leaves the Conv alone: another input size needs the taps); auto_pad NOTSET or VALID;
// W a float initializer of rank 2 + the spatial rank. An axis whose cut would need a negative pad stays
// whole. A weight other nodes also read is copied for this one.
class CropPaddingTapsPass final : public GraphPass {
 public:
  std::string_view name() const override { return "crop_padding_taps"; }
  std::string_view summary() const override {
    return "Conv kernel taps that read only padding (dilated convolutions over small maps) cut from the weight";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
