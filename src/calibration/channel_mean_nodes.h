// The nodes added to a calibration graph so that each run also hands over the mean per channel of
// the tensors whose channel means are asked for (mean bias correction): ReduceMean over every axis but
// the channel one, after a GlobalAveragePool where the channels are the second axis.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "calibration/collect_statistics.h"

namespace onnxq {

// The nodes that reduce each requested tensor to its mean per channel over a run ([channels]), the
// tensors reduced and the reductions' outputs, in the same order.
struct ChannelMeanNodes {
  std::vector<onnx::NodeProto> nodes;
  std::vector<std::string> tensors;
  std::vector<std::string> outputs;
};

// The nodes for each requested tensor of known rank (2 or more); the others are left out. Their names
// are free in `model`.
ChannelMeanNodes MakeChannelMeanNodes(const onnx::ModelProto& model, const ChannelMeanRequest& request);

}  // namespace onnxq
