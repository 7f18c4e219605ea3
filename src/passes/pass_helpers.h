// Graph-side helpers the passes share: constants seen through Identity and Constant nodes, the channel
// layout of Conv / ConvTranspose / Gemm weights, reading and writing one node's float initializers,
// and removing what a rewrite left unused. No numerical work happens here.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "ir/graph_view.h"

namespace onnxq {

// The initializer `tensor` is, directly or through a chain of Identity nodes; empty when it is none.
std::string ResolveInitializer(const GraphView& view, const std::string& tensor);

// Values of a constant tensor: an initializer or the `value` of a Constant node, directly or through
// Identity nodes. nullopt when the tensor is not constant or its type does not convert to float.
std::optional<std::vector<float>> ConstantValues(const GraphView& view, const std::string& tensor);
// The same for an int64 or int32 tensor (also a Constant's value_int / value_ints), exactly; nullopt for
// other types.
std::optional<std::vector<int64_t>> ConstantInts(const GraphView& view, const std::string& tensor);

// Names that nodes inside subgraphs (If / Loop / Scan bodies, at any depth) read. Such reads are
// invisible to GraphView::Consumers, so a pass treats these tensors as read by someone else.
std::set<std::string> NamesReadBySubgraphs(const onnx::GraphProto& graph);

// True when node `node` is the only reader of `tensor`: no other node, no subgraph, not a graph output.
bool ReadOnlyBy(const GraphView& view, const std::string& tensor, int node,
                const std::set<std::string>& subgraph_reads);

// The single node reading `tensor`, or -1 when there are none, several, a subgraph reads it or it is a
// graph output.
int SoleConsumer(const GraphView& view, const std::string& tensor, const std::set<std::string>& subgraph_reads);

// A float32 initializer's name, dims and values.
struct FloatInitializer {
  std::string name;
  std::vector<int64_t> dims;
  std::vector<float> values;
};

// nullopt when `name` is not a FLOAT initializer (other types are left alone: rewriting them as float
// would change the model's types).
std::optional<FloatInitializer> ReadFloatInitializer(const GraphView& view, const std::string& name);

// Writes `values` (with `dims`) as input `slot` of node `node`. An initializer there that only this node
// reads (and that is not a graph input) is overwritten in place; otherwise a new initializer named
// after `base` is added and the node reads it, so other readers keep the old values. Returns the name
// the node now reads. Call view.Rebuild() before using the view's indices again.
std::string SetNodeInitializer(GraphView& view, int node, int slot, const std::string& base,
                               std::span<const int64_t> dims, std::span<const float> values,
                               const std::set<std::string>& subgraph_reads);

// Removes, among `candidates` and what they were read through, the initializers, Constant nodes and
// Identity nodes that nothing reads any more, with the graph-input entries of removed initializers.
// Returns how many nodes and initializers were removed.
int64_t RemoveUnused(onnx::GraphProto& graph, const std::set<std::string>& candidates);

// Removes the value_info entries of these tensors (renamed or deleted ones).
void EraseValueInfo(onnx::GraphProto& graph, const std::set<std::string>& names);

// Node indices of `nodes` erased from the graph (other nodes keep their order).
void EraseNodes(onnx::GraphProto& graph, const std::set<int>& nodes);

bool IsDefaultDomain(const onnx::NodeProto& node);

// Sets attribute `name` of `node` to these ints, replacing one of that name if there is one.
void SetAttrInts(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values);
// Removes attribute `name` of `node`, if it has one.
void EraseAttr(onnx::NodeProto& node, const std::string& name);

// How a layer's weight maps onto channels (see algorithms/batch_norm_fold.h for the table).
enum class LayerKind {
  kDense,      // Conv / ConvTranspose with group 1, Gemm: every output channel reads every input channel
  kDepthwise,  // Conv / ConvTranspose with group == channels, weight [C, 1, k...]: channel i reads only i
  kGrouped,    // any other grouped convolution
};

struct LayerLayout {
  LayerKind kind = LayerKind::kDense;
  int out_axis = 0;  // axis of the weight that indexes output channels
  int in_axis = 1;   // axis that indexes input channels (depthwise: the same channels, axis 0)
  int64_t out_channels = 0;
  int64_t in_channels = 0;
};

// Layout of a Conv, ConvTranspose or Gemm whose weight has these dims; nullopt for other ops or for dims
// that do not fit the op. (Gemm's transA does not change its weight's layout; passes that care check it.)
std::optional<LayerLayout> LayoutOf(const onnx::NodeProto& node, std::span<const int64_t> weight_dims);

}  // namespace onnxq
