#include "calibration/blocked_layout.h"

#include <algorithm>
#include <cassert>
#include <unordered_map>

namespace onnxq {
namespace {

constexpr const char* kNchwcDomain = "com.microsoft.nchwc";

int64_t IntAttribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  for (const auto& attribute : node.attribute()) {
    if (attribute.name() == name) return attribute.i();
  }
  return fallback;
}

}  // namespace

std::map<std::string, BlockedOutput> ExposeBlockedOutputs(onnx::ModelProto& optimized,
                                                          const std::set<std::string>& unordered) {
  auto* graph = optimized.mutable_graph();
  std::unordered_map<std::string, int> readers;
  for (const auto& node : graph->node()) {
    for (const auto& input : node.input()) ++readers[input];
  }
  std::set<std::string> graph_outputs;
  for (const auto& output : graph->output()) graph_outputs.insert(output.name());

  std::map<std::string, BlockedOutput> rewritten;
  std::set<int> removed_nodes;
  for (int i = 0; i < graph->node_size(); ++i) {
    const auto& node = graph->node(i);
    if (node.domain() != kNchwcDomain || node.op_type() != "ReorderOutput") continue;
    if (node.input_size() != 1 || node.output_size() != 1) continue;
    const std::string& output = node.output(0);
    if (!unordered.contains(output) || !graph_outputs.contains(output)) continue;
    if (IntAttribute(node, "channels_last", 0) != 0) continue;
    const int64_t channels = IntAttribute(node, "channels", 0);
    if (channels <= 0) continue;
    rewritten[output] = {.source = node.input(0), .channels = channels};
    if (readers[output] == 0) removed_nodes.insert(i);
  }
  if (rewritten.empty()) return rewritten;

  // Graph outputs: each rewritten name becomes its source, once.
  std::set<std::string> present = graph_outputs;
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> outputs;
  for (const auto& output : graph->output()) {
    const auto it = rewritten.find(output.name());
    if (it == rewritten.end()) {
      *outputs.Add() = output;
    } else if (present.insert(it->second.source).second) {
      outputs.Add()->set_name(it->second.source);  // no type: the engine knows it
    }
  }
  graph->mutable_output()->Swap(&outputs);

  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i = 0; i < graph->node_size(); ++i) {
    if (!removed_nodes.contains(i)) *nodes.Add() = graph->node(i);
  }
  graph->mutable_node()->Swap(&nodes);
  return rewritten;
}

std::vector<float> DropChannelPadding(std::span<const float> blocked, int64_t batch, int64_t padded_channels,
                                      int64_t spatial, int64_t channels, int64_t block) {
  assert(block > 0 && padded_channels % block == 0 && channels <= padded_channels);
  assert(static_cast<int64_t>(blocked.size()) == batch * padded_channels * spatial);
  std::vector<float> out;
  out.reserve(static_cast<size_t>(batch * channels * spatial));
  const int64_t blocks = padded_channels / block;
  const float* p = blocked.data();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t lanes = std::clamp<int64_t>(channels - b * block, 0, block);
      if (lanes == block) {
        out.insert(out.end(), p, p + spatial * block);
      } else {
        for (int64_t s = 0; s < spatial; ++s) out.insert(out.end(), p + s * block, p + s * block + lanes);
      }
      p += spatial * block;
    }
  }
  return out;
}

}  // namespace onnxq
