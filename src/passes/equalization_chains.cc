#include "passes/equalization_chains.h"

#include <algorithm>
#include <optional>
#include <set>

namespace onnxq {
namespace {

// Longest run of activations and pads followed between two layers.
constexpr int kMaxLinkNodes = 16;

struct LayerCheck {
  std::optional<ChainLayer> layer;
  std::string reason;  // why a Conv / Gemm cannot take part; empty for other nodes
};

LayerCheck Unsupported(std::string reason) { return {std::nullopt, std::move(reason)}; }

bool IsLayerOp(const onnx::NodeProto& node) {
  return IsDefaultDomain(node) && (node.op_type() == "Conv" || node.op_type() == "Gemm");
}

LayerCheck CheckLayer(const GraphView& view, int index, const std::set<std::string>& subgraph_reads) {
  const auto& node = view.graph().node(index);
  if (!IsLayerOp(node) || node.input_size() < 2 || node.output_size() < 1) return {};
  if (node.op_type() == "Gemm" && AttrInt(node, "transA", 0) != 0) return Unsupported("Gemm with transA = 1");
  const auto weight = ReadFloatInitializer(view, node.input(1));
  if (!weight) return Unsupported("weight is not a float32 initializer");
  if (view.IsGraphInput(weight->name) || !ReadOnlyBy(view, weight->name, index, subgraph_reads)) {
    return Unsupported("weight shared with another node or the graph interface");
  }
  const auto layout = LayoutOf(node, weight->dims);
  if (!layout) return Unsupported("weight has an unexpected shape");
  if (layout->kind == LayerKind::kGrouped) return Unsupported("grouped convolution that is not depthwise");
  ChainLayer layer{.node = index, .layout = *layout, .weight = weight->name, .output = node.output(0)};
  if (node.input_size() > 2 && !node.input(2).empty()) {
    const auto bias = ReadFloatInitializer(view, node.input(2));
    if (!bias) return Unsupported("bias is not a float32 initializer");
    if (view.IsGraphInput(bias->name) || !ReadOnlyBy(view, bias->name, index, subgraph_reads)) {
      return Unsupported("bias shared with another node or the graph interface");
    }
    if (static_cast<int64_t>(bias->values.size()) != layout->out_channels) {
      return Unsupported("bias is not one value per output channel");
    }
    layer.bias = bias->name;
  }
  return {layer, {}};
}

bool AllZero(const std::vector<float>& values) {
  return std::ranges::all_of(values, [](float v) { return v == 0.0F; });
}

// A Pad that pads with zeros and leaves the batch and channel axes alone.
bool IsZeroSpatialPad(const GraphView& view, const onnx::NodeProto& pad, const std::string& data) {
  if (pad.input_size() < 1 || pad.input(0) != data) return false;
  if (const auto* mode = FindAttr(pad, "mode"); mode != nullptr && mode->s() != "constant") return false;
  if (pad.input_size() > 3 && !pad.input(3).empty()) return false;  // axes (opset 18)
  std::vector<float> pads;
  if (const auto* attr = FindAttr(pad, "pads"); attr != nullptr) {
    for (const int64_t p : attr->ints()) pads.push_back(static_cast<float>(p));
  } else if (pad.input_size() > 1 && !pad.input(1).empty()) {
    auto values = ConstantValues(view, pad.input(1));
    if (!values) return false;
    pads = std::move(*values);
  } else {
    return false;
  }
  if (pads.size() < 4 || pads.size() % 2 != 0) return false;
  const size_t rank = pads.size() / 2;
  if (pads[0] != 0.0F || pads[1] != 0.0F || pads[rank] != 0.0F || pads[rank + 1] != 0.0F) return false;
  if (AttrFloat(pad, "value", 0.0F) != 0.0F) return false;
  if (pad.input_size() > 2 && !pad.input(2).empty()) {
    const auto value = ConstantValues(view, pad.input(2));
    if (!value || !AllZero(*value)) return false;
  }
  return true;
}

bool ConvPads(const onnx::NodeProto& node) {
  if (node.op_type() != "Conv") return false;
  if (const auto* auto_pad = FindAttr(node, "auto_pad");
      auto_pad != nullptr && (auto_pad->s() == "SAME_UPPER" || auto_pad->s() == "SAME_LOWER")) {
    return true;
  }
  return std::ranges::any_of(AttrInts(node, "pads"), [](int64_t p) { return p != 0; });
}

struct Link {
  int next = -1;  // the Conv / Gemm the link ends at, -1 when it ends elsewhere
  ChainLink link;
};

Link FollowLink(const GraphView& view, int layer, const std::set<std::string>& subgraph_reads) {
  std::string tensor = view.graph().node(layer).output(0);
  ChainLink link;
  for (int hop = 0; hop < kMaxLinkNodes; ++hop) {
    const int reader = SoleConsumer(view, tensor, subgraph_reads);
    if (reader < 0) return {};
    const auto& node = view.graph().node(reader);
    if (!IsDefaultDomain(node) || node.output_size() < 1) return {};
    const std::string& op = node.op_type();
    if (op == "Relu" || op == "LeakyRelu" || op == "PRelu") {
      if (node.input(0) != tensor || (op == "PRelu" && node.input_size() > 1 && node.input(1) == tensor)) return {};
      link.activation = true;
    } else if (op == "Pad") {
      if (!IsZeroSpatialPad(view, node, tensor)) return {};
      link.padding = true;
    } else if (IsLayerOp(node)) {
      for (int i = 1; i < node.input_size(); ++i) {
        if (node.input(i) == tensor) return {};
      }
      if (node.input(0) != tensor) return {};
      if (ConvPads(node)) link.padding = true;
      return {reader, link};
    } else {
      return {};
    }
    tensor = node.output(0);
  }
  return {};
}

}  // namespace

ChainSearch FindEqualizationChains(const GraphView& view) {
  const std::set<std::string> subgraph_reads = NamesReadBySubgraphs(view.graph());
  std::map<int, ChainLayer> layers;
  std::map<int, std::string> unsupported;
  for (int i = 0; i < view.graph().node_size(); ++i) {
    LayerCheck check = CheckLayer(view, i, subgraph_reads);
    if (check.layer) {
      layers.emplace(i, std::move(*check.layer));
    } else if (!check.reason.empty()) {
      unsupported.emplace(i, std::move(check.reason));
    }
  }
  ChainSearch search;
  std::map<int, Link> next;
  std::set<int> has_previous;
  std::set<int> skipped_nodes;
  for (int i = 0; i < view.graph().node_size(); ++i) {
    if (!layers.contains(i) && !unsupported.contains(i)) continue;
    const Link link = FollowLink(view, i, subgraph_reads);
    if (link.next < 0) continue;
    if (layers.contains(i) && layers.contains(link.next)) {
      next.emplace(i, link);
      has_previous.insert(link.next);
      continue;
    }
    // A link with an unsupported end: that end is why the neighbour is not equalized.
    for (const int end : {i, link.next}) {
      if (unsupported.contains(end) && skipped_nodes.insert(end).second) ++search.skipped[unsupported[end]];
    }
  }
  for (const auto& [first, layer] : layers) {
    if (has_previous.contains(first) || !next.contains(first)) continue;
    Chain chain;
    chain.layers.push_back(layer);
    for (int at = first; next.contains(at); at = next.at(at).next) {
      chain.links.push_back(next.at(at).link);
      chain.layers.push_back(layers.at(next.at(at).next));
    }
    search.chains.push_back(std::move(chain));
  }
  return search;
}

}  // namespace onnxq
