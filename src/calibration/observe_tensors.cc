#include "calibration/observe_tensors.h"

#include <algorithm>
#include <cassert>
#include <unordered_map>
#include <unordered_set>

namespace onnxq {
namespace {

constexpr const char* kNchwcDomain = "com.microsoft.nchwc";

int64_t IntAttribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  for (const auto& attribute : node.attribute()) {
    if (attribute.name() == name) return attribute.i();
  }
  return fallback;
}

void AddIntAttribute(onnx::NodeProto& node, const std::string& name, int64_t value) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INT);
  attribute->set_i(value);
}

// Per node of a topologically sorted graph: its own position, or for a side node (one whose outputs
// only side nodes read, and no graph output is) the latest ready position of the nodes it reads from
// (-1: only graph inputs and initializers). Nodes in `removed` read nothing.
std::vector<int> ReadyPositions(const onnx::GraphProto& graph, const std::unordered_set<std::string>& graph_outputs,
                                const std::unordered_set<int>& removed) {
  const int n = graph.node_size();
  std::unordered_map<std::string, int> producer;
  std::unordered_map<std::string, std::vector<int>> consumers;
  for (int i = 0; i < n; ++i) {
    if (removed.contains(i)) continue;
    for (const auto& output : graph.node(i).output()) producer[output] = i;
    for (const auto& input : graph.node(i).input()) consumers[input].push_back(i);
  }
  std::vector<bool> side(static_cast<size_t>(n), false);
  for (int i = n - 1; i >= 0; --i) {
    if (removed.contains(i)) continue;
    bool only_side = true;
    for (const auto& output : graph.node(i).output()) {
      if (graph_outputs.contains(output)) only_side = false;
      for (const int c : consumers[output]) only_side = only_side && c > i && side[static_cast<size_t>(c)];
    }
    side[static_cast<size_t>(i)] = only_side;
  }
  std::vector<int> ready(static_cast<size_t>(n), -1);
  for (int i = 0; i < n; ++i) {
    if (!side[static_cast<size_t>(i)]) {
      ready[static_cast<size_t>(i)] = i;
      continue;
    }
    for (const auto& input : graph.node(i).input()) {
      const auto p = producer.find(input);
      if (p != producer.end() && p->second < i) {
        ready[static_cast<size_t>(i)] = std::max(ready[static_cast<size_t>(i)], ready[static_cast<size_t>(p->second)]);
      }
    }
  }
  return ready;
}

}  // namespace

bool ObserveTensors(onnx::ModelProto& optimized, const std::vector<std::string>& observed,
                    const std::set<std::string>& kept_outputs) {
  auto* graph = optimized.mutable_graph();
  std::unordered_map<std::string, int> producer;
  std::unordered_map<std::string, int> readers;
  for (int i = 0; i < graph->node_size(); ++i) {
    for (const auto& output : graph->node(i).output()) producer[output] = i;
    for (const auto& input : graph->node(i).input()) ++readers[input];
  }
  std::unordered_set<std::string> fed;
  for (const auto& input : graph->input()) fed.insert(input.name());
  for (const auto& initializer : graph->initializer()) fed.insert(initializer.name());

  // Graph outputs: the exposures go (they were there only to keep the tensors computed).
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> outputs;
  std::unordered_set<std::string> output_names;
  for (const auto& output : graph->output()) {
    if (!kept_outputs.contains(output.name())) continue;
    *outputs.Add() = output;
    output_names.insert(output.name());
  }

  std::unordered_set<int> removed_nodes;
  std::vector<onnx::NodeProto> observers;
  for (size_t index = 0; index < observed.size(); ++index) {
    const std::string& name = observed[index];
    std::string source = name;
    int64_t channels = 0;
    const auto it = producer.find(name);
    if (it != producer.end()) {
      const auto& node = graph->node(it->second);
      if (node.domain() == kNchwcDomain && node.op_type() == "ReorderOutput" && node.input_size() == 1 &&
          node.output_size() == 1 && IntAttribute(node, "channels_last", 0) == 0 &&
          IntAttribute(node, "channels", 0) > 0) {
        source = node.input(0);
        channels = IntAttribute(node, "channels", 0);
        if (readers[name] == 0 && !output_names.contains(name)) removed_nodes.insert(it->second);
      }
    } else if (!fed.contains(name)) {
      return false;
    }
    onnx::NodeProto observer;
    observer.set_domain(kObserveDomain);
    observer.set_op_type(kObserveOp);
    observer.set_name("onnxq_observe_" + std::to_string(index));
    observer.add_input(source);
    observer.add_output("onnxq_observed_" + std::to_string(index));
    AddIntAttribute(observer, "index", static_cast<int64_t>(index));
    AddIntAttribute(observer, "channels", channels);
    outputs.Add()->set_name(observer.output(0));  // no type: the engine knows it
    observers.push_back(std::move(observer));
  }
  graph->mutable_output()->Swap(&outputs);

  // The runtime runs a graph in depth-first order from its leaves (nodes whose outputs nothing reads),
  // starting with the leaf last in the node list and running each node after its inputs. With the
  // Observe nodes (all leaves) last in the list, the one of the latest tensor first, it starts from the
  // Observe node of the earliest tensor and runs each one right after the node computing its tensor,
  // while the tensor is in cache. (With each Observe node placed after its producer, the runtime ran
  // the whole graph first and then every Observe node, the last tensor's first.)
  // A tensor computed by nodes that feed nothing but Observe nodes (reductions added to summarize a
  // tensor, such as a per-channel mean) counts as ready where their inputs are: the runtime would
  // otherwise run those side nodes after the whole graph, holding their inputs until then.
  const std::vector<int> ready = ReadyPositions(*graph, output_names, removed_nodes);
  std::vector<std::pair<int, const onnx::NodeProto*>> by_producer;  // -1: a graph input or initializer
  for (const auto& observer : observers) {
    const auto p = producer.find(observer.input(0));
    by_producer.emplace_back(p == producer.end() ? -1 : ready[static_cast<size_t>(p->second)], &observer);
  }
  std::stable_sort(by_producer.begin(), by_producer.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i = 0; i < graph->node_size(); ++i) {
    if (!removed_nodes.contains(i)) *nodes.Add() = graph->node(i);
  }
  for (const auto& [position, observer] : by_producer) *nodes.Add() = *observer;
  graph->mutable_node()->Swap(&nodes);

  bool has_domain = false;
  for (const auto& opset : optimized.opset_import()) has_domain = has_domain || opset.domain() == kObserveDomain;
  if (!has_domain) {
    auto* opset = optimized.add_opset_import();
    opset->set_domain(kObserveDomain);
    opset->set_version(1);
  }
  return true;
}

bool ObservesBlockedTensor(const onnx::ModelProto& model) {
  const auto& nodes = model.graph().node();
  return std::any_of(nodes.begin(), nodes.end(), [](const onnx::NodeProto& node) {
    return node.domain() == kObserveDomain && node.op_type() == kObserveOp && IntAttribute(node, "channels", 0) > 0;
  });
}

void DropChannelPadding(std::span<const float> blocked, int64_t batch, int64_t padded_channels, int64_t spatial,
                        int64_t channels, int64_t block, std::vector<float>& out) {
  assert(block > 0 && padded_channels % block == 0 && channels <= padded_channels);
  assert(static_cast<int64_t>(blocked.size()) == batch * padded_channels * spatial);
  out.clear();
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
}

}  // namespace onnxq
