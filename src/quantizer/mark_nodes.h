// Phase 1 of quantization: choose the nodes to quantize (op types, exclusions, input/output nodes)
// and let each op quantizer mark its tensors.
#pragma once

#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "onnxq/options.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

// Marks every node the options select; nodes left float get a reason in plan.left_float. Nodes with
// subgraphs (If, Loop, Scan) stay float with everything inside them. --input-nodes / --output-nodes
// select the nodes downstream of an input node and upstream of an output node (on the graph, not by
// position); an input node downstream of an output node is an InvalidArgument naming both.
Result<QuantPlan> MarkNodes(const GraphView& graph, const QuantizeOptions& options);

// Activation tensors whose ranges calibration must provide, in graph order, without duplicates.
// Outputs that share their input's parameters need none, and neither do the inputs of foldable
// Relu / Clip(lo <= 0 <= hi) nodes: the node folds into its producer's output range or lends its
// own parameters to its input, so the runtime can fuse those pairs while calibrating.
std::vector<std::string> TensorsToCalibrate(const QuantPlan& plan);

// Name used for a node in messages and reports.
std::string NodeLabel(const onnx::NodeProto& node, int index);

}  // namespace onnxq
