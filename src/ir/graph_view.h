// A thin index over onnx::GraphProto: who produces and who consumes each tensor, which tensors are
// initializers, graph inputs and outputs, and their types and shapes. The view does not own the graph;
// call Rebuild() after changing nodes or initializers.
//
// Subgraphs (If branches, Loop and Scan bodies) may read tensors of the graph around them by name.
// The view counts a node whose subgraphs read a tensor of this graph, at any depth, as a consumer of
// that tensor, exactly as if the node read it as an input: so no pass renames, deletes or folds away a
// tensor some subgraph still reads. The subgraphs' own nodes are not indexed.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace onnxq {

class GraphView {
 public:
  explicit GraphView(onnx::GraphProto* graph);

  void Rebuild();

  onnx::GraphProto& graph() { return *graph_; }
  const onnx::GraphProto& graph() const { return *graph_; }

  // Index of the node producing `tensor`, or -1 for graph inputs, initializers and unknown names.
  int Producer(const std::string& tensor) const;
  // Indices of the nodes reading `tensor`, as an input or from inside their subgraphs (any depth), in
  // graph order, each once.
  const std::vector<int>& Consumers(const std::string& tensor) const;
  // Whether a subgraph of some node of this graph reads `tensor` from this graph.
  bool ReadBySubgraph(const std::string& tensor) const { return subgraph_reads_.contains(tensor); }

  const onnx::TensorProto* Initializer(const std::string& name) const;
  onnx::TensorProto* MutableInitializer(const std::string& name);
  bool IsInitializer(const std::string& name) const { return Initializer(name) != nullptr; }
  bool IsGraphInput(const std::string& name) const { return graph_inputs_.contains(name); }
  bool IsGraphOutput(const std::string& name) const { return graph_outputs_.contains(name); }

  // Element type (onnx::TensorProto::DataType) from initializers, inputs, outputs or value_info; 0 if unknown.
  int32_t ElemType(const std::string& name) const;
  // Static shape; dimensions that are symbolic or unknown are -1. nullopt if the rank is unknown.
  std::optional<std::vector<int64_t>> Shape(const std::string& name) const;

  // A name not used by any tensor or node in the graph, starting from `base`.
  std::string UniqueName(const std::string& base);

 private:
  onnx::GraphProto* graph_;
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, std::vector<int>> consumers_;
  std::unordered_map<std::string, int> initializer_;
  std::unordered_map<std::string, const onnx::ValueInfoProto*> value_info_;
  std::unordered_set<std::string> graph_inputs_;
  std::unordered_set<std::string> graph_outputs_;
  std::unordered_set<std::string> used_names_;
  std::unordered_set<std::string> subgraph_reads_;
};

// Whether the node carries subgraphs (graph or graphs attributes: If, Loop, Scan, ...).
bool HasSubgraphs(const onnx::NodeProto& node);

// The names the subgraphs of `node` (at any depth) read but do not define themselves (as graph inputs,
// initializers or node outputs): the tensors of enclosing graphs the node depends on besides its
// inputs. Subgraph outputs that name an outer tensor count as reads. In first-read order, each once.
std::vector<std::string> OuterScopeReads(const onnx::NodeProto& node);

// How many nodes the subgraphs of `node` hold, at any depth (the nodes of nested subgraphs included).
int64_t SubgraphNodeCount(const onnx::NodeProto& node);

// Value of an attribute, or a default when absent.
int64_t AttrInt(const onnx::NodeProto& node, const std::string& name, int64_t default_value);
float AttrFloat(const onnx::NodeProto& node, const std::string& name, float default_value);
std::vector<int64_t> AttrInts(const onnx::NodeProto& node, const std::string& name);
const onnx::AttributeProto* FindAttr(const onnx::NodeProto& node, const std::string& name);

// Opset version of the default ("" or "ai.onnx") domain, 0 if not imported.
int64_t DefaultOpset(const onnx::ModelProto& model);

// "Conv 'conv1'" or "Conv (node 3)" for messages.
std::string Describe(const onnx::NodeProto& node, int index = -1);

}  // namespace onnxq
