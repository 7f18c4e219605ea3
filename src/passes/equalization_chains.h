// The cheap match shared by equalize_cross_layer and absorb_high_bias: chains of layers linked by
// single-reader activations that commute with a positive per-channel scale.
//
//   Conv/Gemm -> [Relu | LeakyRelu | PRelu | zero Pad]* -> Conv/Gemm -> ... -> Conv/Gemm
//
// A layer takes part when it is a Conv with group 1 or a depthwise Conv (group == channels, weight
// [C, 1, k...]), or a Gemm with transA = 0, and its weight (and bias, if any) is a float32 initializer
// that no other node reads (so rescaling it changes this layer alone). Every tensor along a link has
// exactly one reader and is no graph output; the next layer reads the link as its data input. A
// chain is a maximal path of such links; chains never share a layer.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "passes/pass_helpers.h"

namespace onnxq {

struct ChainLayer {
  int node = -1;
  LayerLayout layout;  // kDense or kDepthwise
  std::string weight;  // initializer names; bias empty when the layer has none
  std::string bias;
  std::string output;  // the layer's output tensor (key of PassContext::batch_norm_stats)
};

// What sits between two consecutive layers of a chain.
struct ChainLink {
  bool activation = false;  // a Relu, LeakyRelu or PRelu (identity on [0, inf))
  bool padding = false;     // a zero Pad, or the next layer is a Conv that pads its input
};

struct Chain {
  std::vector<ChainLayer> layers;  // at least two
  std::vector<ChainLink> links;    // links[i] joins layers[i] and layers[i + 1]
};

struct ChainSearch {
  std::vector<Chain> chains;  // in graph order of their first layer
  // Conv / Gemm nodes left out of every chain although a neighbour could have linked to them:
  // reason -> count.
  std::map<std::string, int64_t> skipped;
};

ChainSearch FindEqualizationChains(const GraphView& view);

}  // namespace onnxq
