// The plan that links the two quantizer phases: op quantizers *mark* what they want quantized
// (TensorIntent), DecideParams turns marks plus calibration ranges into parameters (TensorQuant), and
// one materializer inserts every Q/DQ node.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "algorithms/qparams.h"

namespace onnxq {

enum class TensorRole {
  kActivation,  // calibrated at run time
  kWeight,      // an initializer quantized from its own values
  kBias,        // int32, scale = input scale x weight scale
};

struct TensorIntent {
  std::string tensor;
  TensorRole role = TensorRole::kActivation;
  int channel_axis = -1;    // kWeight: axis of output channels (used with per-channel)
  std::string share_with;   // kActivation: reuse this tensor's parameters (Reshape, MaxPool ...)
  std::string bias_input;   // kBias: the activation input of the node
  std::string bias_weight;  // kBias: the weight of the node
};

struct NodeMark {
  int node = -1;
  std::vector<TensorIntent> intents;
  // Relu / Clip that may disappear into its producer's output range: [lower, upper] it clips to.
  bool foldable_activation = false;
  int fold_producer = -1;  // the node whose output range would absorb it
  float clip_min = 0.0F;
  float clip_max = 0.0F;
};

// Final parameters of one quantized tensor. Per-tensor: one entry in `params`; per-channel: one per
// channel along `axis`.
struct TensorQuant {
  TensorRole role = TensorRole::kActivation;
  QuantType type = QuantType::kUInt8;
  int axis = -1;
  std::vector<QuantParams> params;
  IntRange range;
};

// Where QuantizeLinear / DequantizeLinear come from. The ONNX ops exist from opset 10 (per-tensor) and
// opset 13 (per-channel `axis`); ONNX Runtime's com.microsoft ops of the same names take `axis` at any
// opset, so a model too old for the ONNX ops is quantized without converting it.
enum class QdqDomain {
  kOnnx,       // the default domain
  kMicrosoft,  // "com.microsoft", version 1 (ONNX Runtime only)
};

struct QuantPlan {
  std::vector<NodeMark> marks;
  std::map<std::string, TensorQuant> tensors;
  std::set<int> removed_nodes;  // folded Relu / Clip
  // Producer outputs renamed to the output of the Relu / Clip folded into them.
  std::map<std::string, std::string> renamed_outputs;
  // Float nodes and why (node index -> reason).
  std::map<int, std::string> left_float;
};

}  // namespace onnxq
