#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// rename_duplicate_nodes: nodes that share a name with an earlier node of the same graph get a name of
// their own. ONNX does not require unique node names and the checker accepts duplicates, but ONNX
// Runtime refuses to load such a model ("two nodes with same node name"), so neither calibration nor
// the quantized model could run.
//
//   Before:  Relu 'dup' (X) -> a;  Sigmoid 'dup' (a) -> Y
//   After:   Relu 'dup' (X) -> a;  Sigmoid 'dup_1' (a) -> Y
//
// The first node of a name keeps it; later ones get `<name>_<k>` with the smallest k that no node
// name or tensor name of the model uses. Each subgraph is a graph of its own (ONNX Runtime checks
// names per graph) and is handled the same way. Unnamed nodes stay unnamed (any number may be).
// Options that name nodes (--nodes-to-exclude ...) then match the first node of a duplicated name.
class RenameDuplicateNodesPass final : public GraphPass {
 public:
  std::string_view name() const override { return "rename_duplicate_nodes"; }
  std::string_view summary() const override { return "give nodes sharing a name names of their own"; }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
