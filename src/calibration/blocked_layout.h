// ONNX Runtime's CPU engine computes convolutions in a channel-blocked layout (NCHWc: N, C/b, H, W, b
// with b = 8 or 16 channels a block) and converts each graph output it produces back to NCHW with a
// ReorderOutput node. An output that is only summarized (calibration statistics: min/max, histograms)
// does not need the conversion, which costs a pass over the tensor and a buffer that is never reused.
// These are the graph rewrite and the copy that let such outputs leave the engine blocked. Pure
// functions on protos and spans; the backend applies them to the engine's optimized model.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace onnxq {

// A graph output now taken, blocked, from `source`; `channels` is the real channel count (the blocked
// tensor has it rounded up to a whole block).
struct BlockedOutput {
  std::string source;
  int64_t channels = 0;
};

// In a model the engine has optimized, makes each graph output named in `unordered` that comes from a
// ReorderOutput (domain com.microsoft.nchwc, channels-first) a graph output of the blocked input
// instead. The ReorderOutput goes when nothing else reads its result. Returns what was rewritten,
// by original output name.
std::map<std::string, BlockedOutput> ExposeBlockedOutputs(onnx::ModelProto& optimized,
                                                          const std::set<std::string>& unordered);

// The real channels of a blocked tensor of shape [batch, padded_channels, spatial...] with `block`
// channels a block, sample after sample, padding lanes dropped: each sample keeps its values together
// (in blocked order), so per-sample and per-tensor summaries are those of the NCHW tensor.
std::vector<float> DropChannelPadding(std::span<const float> blocked, int64_t batch, int64_t padded_channels,
                                      int64_t spatial, int64_t channels, int64_t block);

}  // namespace onnxq
