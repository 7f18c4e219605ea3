#include "calibration/channel_mean_nodes.h"

#include <map>
#include <set>
#include <utility>

#include "ir/graph_view.h"

namespace onnxq {
namespace {

// Names already taken in a model, for the nodes added to it, and the rank of each value with a known
// shape.
struct ModelNames {
  std::set<std::string> taken;
  std::map<std::string, int> ranks;

  // `base`, or `base_<i>` for the first i that is free; taken from then on.
  std::string Unique(const std::string& base) {
    std::string name = base;
    for (int i = 1; taken.contains(name); ++i) name = base + "_" + std::to_string(i);
    taken.insert(name);
    return name;
  }
};

ModelNames NamesOf(const onnx::GraphProto& graph) {
  ModelNames names;
  for (const auto* list : {&graph.input(), &graph.value_info(), &graph.output()}) {
    for (const auto& value : *list) {
      names.taken.insert(value.name());
      if (value.type().has_tensor_type() && value.type().tensor_type().has_shape()) {
        names.ranks[value.name()] = value.type().tensor_type().shape().dim_size();
      }
    }
  }
  for (const auto& node : graph.node()) {
    for (const auto& out : node.output()) names.taken.insert(out);
  }
  for (const auto& init : graph.initializer()) names.taken.insert(init.name());
  return names;
}

// Appends ReduceMean of `input` over `axes`, without keeping them, writing `output`: the axes as a
// Constant input from opset 18 on, as an attribute before.
void AppendReduceMean(const std::string& input, const std::vector<int64_t>& axes, const std::string& output,
                      int64_t opset, ModelNames& names, std::vector<onnx::NodeProto>& nodes) {
  onnx::NodeProto node;
  node.set_op_type("ReduceMean");
  node.set_name(names.Unique(output + "_node"));
  node.add_input(input);
  node.add_output(output);
  auto* keepdims = node.add_attribute();
  keepdims->set_name("keepdims");
  keepdims->set_type(onnx::AttributeProto::INT);
  keepdims->set_i(0);
  if (opset >= 18) {
    onnx::NodeProto constant;
    constant.set_op_type("Constant");
    const std::string axes_name = names.Unique(output + "_axes");
    constant.set_name(names.Unique(axes_name + "_node"));
    constant.add_output(axes_name);
    auto* value = constant.add_attribute();
    value->set_name("value_ints");
    value->set_type(onnx::AttributeProto::INTS);
    for (const int64_t a : axes) value->add_ints(a);
    nodes.push_back(std::move(constant));
    node.add_input(axes_name);
  } else {
    auto* attr = node.add_attribute();
    attr->set_name("axes");
    attr->set_type(onnx::AttributeProto::INTS);
    for (const int64_t a : axes) attr->add_ints(a);
  }
  nodes.push_back(std::move(node));
}

// Appends the nodes that reduce `tensor` (of `rank`) to its mean per channel, writing `output`.
void AppendChannelMean(const std::string& tensor, int rank, ChannelAxis axis, const std::string& output, int64_t opset,
                       ModelNames& names, std::vector<onnx::NodeProto>& nodes) {
  std::vector<int64_t> axes;
  if (axis == ChannelAxis::kSecond && rank >= 3) {
    // Pooled where the engine computes the tensor (a blocked layout stays blocked), then [N, C, 1...] -> [C].
    onnx::NodeProto pool;
    pool.set_op_type("GlobalAveragePool");
    const std::string pooled = names.Unique(tensor + "_onnxq_channel_pool");
    pool.set_name(names.Unique(pooled + "_node"));
    pool.add_input(tensor);
    pool.add_output(pooled);
    nodes.push_back(std::move(pool));
    for (int d = 0; d < rank; ++d) {
      if (d != 1) axes.push_back(d);
    }
    AppendReduceMean(pooled, axes, output, opset, names, nodes);
    return;
  }
  const int channel = axis == ChannelAxis::kSecond ? 1 : rank - 1;
  for (int d = 0; d < rank; ++d) {
    if (d != channel) axes.push_back(d);
  }
  AppendReduceMean(tensor, axes, output, opset, names, nodes);
}

}  // namespace

ChannelMeanNodes MakeChannelMeanNodes(const onnx::ModelProto& model, const ChannelMeanRequest& request) {
  ChannelMeanNodes made;
  if (request.tensors.empty()) return made;
  ModelNames names = NamesOf(model.graph());
  const int64_t opset = DefaultOpset(model);
  for (const auto& [tensor, axis] : request.tensors) {
    const auto it = names.ranks.find(tensor);
    if (it == names.ranks.end() || it->second < 2) continue;
    const std::string output = names.Unique(tensor + "_onnxq_channel_mean");
    AppendChannelMean(tensor, it->second, axis, output, opset, names, made.nodes);
    made.tensors.push_back(tensor);
    made.outputs.push_back(output);
  }
  return made;
}

}  // namespace onnxq
