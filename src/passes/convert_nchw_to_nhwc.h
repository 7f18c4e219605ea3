#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// convert_nchw_to_nhwc: the model takes its 4-D inputs channels-last (vai_q_onnx / Quark
// convert_nchw_to_nhwc), for data laid out as images are stored; the rest of the graph keeps NCHW.
//
//   Before:  graph input x: [N, C, H, W]            y = Conv(x, W)
//   After:   graph input x: [N, H, W, C]            x_nchw = Transpose<perm = [0, 3, 1, 2]>(x)
//                                                   y = Conv(x_nchw, W)
//
//   x_nchw[n, c, h, w] = x[n, h, w, c], so the model fed x.transpose(0, 2, 3, 1) computes exactly what
//   it computed on x before.
//
// Preconditions: a graph input (not an initializer) of a tensor type with a known rank of 4; its
// dimensions, fixed or symbolic, are permuted as they are. The Transpose goes first in the node list,
// and every node of the main graph that read x reads x_nchw. Left as they are, with a note: inputs of
// another rank or of unknown rank, an input that is also a graph output, and one that a subgraph (If /
// Loop / Scan body) reads.
class ConvertNchwToNhwcPass final : public GraphPass {
 public:
  std::string_view name() const override { return "convert_nchw_to_nhwc"; }
  std::string_view summary() const override {
    return "4-D graph inputs NCHW -> NHWC, each followed by a Transpose back to NCHW (convert_nchw_to_nhwc)";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
