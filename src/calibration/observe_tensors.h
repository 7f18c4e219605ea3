// Calibration reads tensors where ONNX Runtime computes them. The runtime's CPU engine computes
// convolutions in a channel-blocked layout (NCHWc: N, C/b, H, W, b with b = 8 or 16 channels a block)
// and converts each graph output it produces back to NCHW with a ReorderOutput node; a tensor exposed
// as a graph output also stays alive until the run ends, so a run's exposed tensors fall out of cache
// before anything reads them. A tensor that is only summarized (min/max, histograms) needs neither:
// an Observe node reads it as soon as it is computed, in the layout it is computed in, and the memory
// it held is reused at once. These are the graph rewrite and the copy that make that possible. Pure
// functions on protos and spans; the backend applies them to the engine's optimized model.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace onnxq {

// The operator that hands a tensor to calibration: one input (the tensor), one empty float output;
// attributes `index` (the tensor's position in the observed list) and `channels` (the real channel
// count of a blocked input, whose channel axis is rounded up to a whole block; 0 when not blocked).
inline constexpr const char* kObserveDomain = "ai.onnxq.calibration";
inline constexpr const char* kObserveOp = "Observe";

// In a model the engine has optimized from one that exposed each of `observed` as a graph output,
// replaces each exposure by an Observe node on the tensor where the engine computes it: before its
// ReorderOutput (domain com.microsoft.nchwc, channels-first) when it comes from one, which then goes
// unless something else reads it. Each Observe output becomes a graph output, so that the node runs.
// The Observe nodes go last in the node list, the latest tensor's first: the runtime then runs each
// right after the node computing its tensor.
// Graph outputs named in `kept_outputs` stay. Returns false, with the model unspecified, when a tensor
// is neither computed in nor fed to the graph.
bool ObserveTensors(onnx::ModelProto& optimized, const std::vector<std::string>& observed,
                    const std::set<std::string>& kept_outputs);

// Whether an Observe node of the model reads a blocked tensor (carries a channel count), whose
// padding it then drops with the engine's block size.
bool ObservesBlockedTensor(const onnx::ModelProto& model);

// The real channels of a blocked tensor of shape [batch, padded_channels, spatial...] with `block`
// channels a block, sample after sample, padding lanes dropped, written to `out` (whose capacity is
// reused): each sample keeps its values together (in blocked order), so per-sample and per-tensor
// summaries are those of the NCHW tensor.
void DropChannelPadding(std::span<const float> blocked, int64_t batch, int64_t padded_channels, int64_t spatial,
                        int64_t channels, int64_t block, std::vector<float>& out);

}  // namespace onnxq
