#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// eliminate_identity: Identity nodes are removed and their readers read the Identity's input instead.
// Exporters emit them for tied parameters (resnet_fmnist_bn: one BatchNormalization's bias is an
// Identity of another's), and an Identity between a layer and its batch norm or activation would hide
// the pattern from later passes.
//
//   Before:  b -> Identity -> b2;  BatchNormalization(x, s, b2, m, v)
//   After:   BatchNormalization(x, s, b, m, v)
//
// Preconditions: default-domain Identity with one input and one output. An Identity whose output is a
// graph output stays when its input is a graph input, an initializer or another graph output (the
// graph's interface keeps its names); otherwise the producer of its input writes the output's name
// directly.
// Readers inside subgraphs (If branches, Loop and Scan bodies, at any depth) are renamed too, a
// subgraph output that names the removed tensor included; a subgraph that defines a tensor of the
// same name itself keeps its own.
class EliminateIdentityPass final : public GraphPass {
 public:
  std::string_view name() const override { return "eliminate_identity"; }
  std::string_view summary() const override { return "remove Identity nodes, readers use their input"; }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
