#include "ir/infer_shapes.h"

#include <onnx/defs/shape_inference.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ir/graph_view.h"

namespace onnxq {
namespace {

std::string IntsText(const std::vector<int64_t>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) text += (i > 0 ? ", " : "") + std::to_string(values[i]);
  return text + "]";
}

bool IsDefaultDomain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

using Guard = std::function<void(onnx::InferenceContext&)>;

// Fails unless the node has as many inputs and outputs as `schema` admits and every attribute the schema
// requires, each attribute of the schema's type: what ONNX's checker verifies, and what the inference
// functions take for granted (Scan reads num_scan_inputs through a null pointer when it is absent).
void CheckAgainstSchema(const onnx::OpSchema& schema, onnx::InferenceContext& ctx) {
  const auto inputs = static_cast<int64_t>(ctx.getNumInputs());
  const auto outputs = static_cast<int64_t>(ctx.getNumOutputs());
  if (inputs < schema.min_input() || inputs > schema.max_input()) {
    fail_shape_inference(inputs, " inputs, outside [", schema.min_input(), ", ", schema.max_input(), "]");
  }
  if (outputs < schema.min_output() || outputs > schema.max_output()) {
    fail_shape_inference(outputs, " outputs, outside [", schema.min_output(), ", ", schema.max_output(), "]");
  }
  for (const auto& [name, attribute] : schema.attributes()) {
    const onnx::AttributeProto* given = ctx.getAttribute(name);
    if (given == nullptr) {
      if (attribute.required) fail_shape_inference("attribute ", name, " is required");
    } else if (given->type() != onnx::AttributeProto::UNDEFINED && given->type() != attribute.type) {
      fail_shape_inference("attribute ", name, " has type ", given->type(), ", not ", attribute.type);
    }
  }
}

// Fails unless inputs `a` and `b` have the same rank (when both shapes are known).
Guard SameRank(size_t a, size_t b) {
  return [a, b](onnx::InferenceContext& ctx) {
    if (!onnx::hasInputShape(ctx, a) || !onnx::hasInputShape(ctx, b)) return;
    const int rank_a = ctx.getInputType(a)->tensor_type().shape().dim_size();
    const int rank_b = ctx.getInputType(b)->tensor_type().shape().dim_size();
    if (rank_a != rank_b) fail_shape_inference("input ", b, " has ", rank_b, " axes but input ", a, " has ", rank_a);
  };
}

// Scan: num_scan_inputs in [1, inputs] (ScanInferenceFunction subtracts it from the input count unsigned).
void ScanInputCount(onnx::InferenceContext& ctx) {
  const int64_t scan_inputs = ctx.getAttribute("num_scan_inputs")->i();
  if (scan_inputs < 1 || scan_inputs > static_cast<int64_t>(ctx.getNumInputs())) {
    fail_shape_inference("num_scan_inputs = ", scan_inputs, " for ", ctx.getNumInputs(), " inputs");
  }
}

// Guards by op type, for ops of the default domain, after CheckAgainstSchema.
const std::map<std::string, Guard>& Guards() {
  static const std::map<std::string, Guard> guards = {
      {"Conv", SameRank(0, 1)},
      {"ConvInteger", SameRank(0, 1)},
      {"QLinearConv", SameRank(0, 3)},
      {"Scan", ScanInputCount},
  };
  return guards;
}

class GuardedRegistry final : public onnx::ISchemaRegistry {
 public:
  const onnx::OpSchema* GetSchema(const std::string& key, const int max_inclusive_version,
                                  const std::string& domain) const override {
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(key, max_inclusive_version, domain);
    if (schema == nullptr || !schema->has_type_and_shape_inference_function()) return schema;
    const std::lock_guard lock(mutex_);
    auto& guarded = guarded_[schema];
    if (guarded == nullptr) {
      const auto specific = Guards().find(key);
      Guard check = IsDefaultDomain(domain) && specific != Guards().end() ? specific->second : Guard();
      guarded = std::make_unique<onnx::OpSchema>(*schema);
      guarded->TypeAndShapeInferenceFunction(
          [schema, check = std::move(check),
           infer = schema->GetTypeAndShapeInferenceFunction()](onnx::InferenceContext& ctx) {
            CheckAgainstSchema(*schema, ctx);
            if (check) check(ctx);
            infer(ctx);
          });
    }
    return guarded.get();
  }

 private:
  mutable std::mutex mutex_;
  mutable std::map<const onnx::OpSchema*, std::unique_ptr<onnx::OpSchema>> guarded_;  // by ONNX's schema
};

}  // namespace

Status CheckInferenceAttributes(const onnx::GraphProto& graph) {
  static const std::set<std::string> kSpatialOps = {"Conv",    "ConvTranspose", "ConvInteger", "QLinearConv",
                                                    "MaxPool", "AveragePool",   "LpPool",      "MaxUnpool"};
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) ONNXQ_RETURN_IF_ERROR(CheckInferenceAttributes(attr.g()));
      for (const auto& g : attr.graphs()) ONNXQ_RETURN_IF_ERROR(CheckInferenceAttributes(g));
    }
    if (!IsDefaultDomain(node.domain()) || !kSpatialOps.contains(node.op_type())) continue;
    for (const char* name : {"strides", "dilations", "kernel_shape"}) {
      const std::vector<int64_t> values = AttrInts(node, name);
      if (std::any_of(values.begin(), values.end(), [](int64_t v) { return v < 1; })) {
        return InvalidModel(Describe(node, i) + " has " + name + " = " + IntsText(values) +
                            "; every entry must be >= 1");
      }
    }
  }
  return Status::Ok();
}

Status InferShapes(onnx::ModelProto& model) {
  ONNXQ_RETURN_IF_ERROR(CheckInferenceAttributes(model.graph()));
  try {
    onnx::shape_inference::InferShapes(model, &GuardedSchemaRegistry(),
                                       onnx::ShapeInferenceOptions(/*check_type_val=*/false, /*strict_mode_val=*/0));
  } catch (const std::exception& e) {
    return InvalidModel(std::string("shape inference failed: ") + e.what());
  }
  return Status::Ok();
}

const onnx::ISchemaRegistry& GuardedSchemaRegistry() {
  static const GuardedRegistry registry;
  return registry;
}

}  // namespace onnxq
