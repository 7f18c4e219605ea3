#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// sort_topologically: the nodes of the graph, and of every subgraph at any depth, are put in an order
// in which each node comes after the nodes writing what it reads. ONNX requires that order and every
// later step relies on it, but some exporters do not keep it (IS-Net from @imgly: the input's Cast is
// node 643 of 734).
//
//   Before:  y = Relu(t);  t = Cast(x)
//   After:   t = Cast(x);  y = Relu(t)
//
// What a node reads: its inputs, and the tensors of enclosing graphs its subgraphs (If branches, Loop
// and Scan bodies, at any depth) read by name. So an If whose branch reads `t` comes after the
// producer of `t`, and the nodes inside each subgraph are sorted among themselves the same way.
//
// Stable: the nodes are visited in the given order, and before a node is placed the not yet placed
// producers of what it reads are placed (depth first, in the order it reads them). A sorted graph is
// left as it is; otherwise each node that came too early waits only for its own producers, and each
// that came too late moves to just before its first reader. O(nodes + edges) per graph, each graph
// visited once.
//
// Errors (InvalidModel, naming the node and the tensor): a cycle; a tensor read that no node writes
// and that is no graph input or initializer of this graph or of an enclosing one; a tensor written by
// two nodes.
class SortTopologicallyPass final : public GraphPass {
 public:
  std::string_view name() const override { return "sort_topologically"; }
  std::string_view summary() const override { return "order the nodes (and those of subgraphs) topologically"; }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
