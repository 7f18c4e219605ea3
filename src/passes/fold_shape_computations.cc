#include "passes/fold_shape_computations.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "ir/infer_shapes.h"
#include "ir/tensor_util.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

constexpr int kMaxRounds = 128;
// Shape tensors are short; longer integer constants are data, not shapes.
constexpr size_t kMaxElements = 64;

// One element of an integer tensor: a number, a named dimension of the model, or unknown.
struct Element {
  std::optional<int64_t> number;
  std::string dim;  // the dim_param, when not a number; empty without a number: unknown
};

// An integer tensor of rank 0 or 1, element by element.
struct Value {
  bool scalar = false;
  int32_t type = onnx::TensorProto::INT64;
  std::vector<Element> elements;

  bool AllNumbers() const {
    return std::ranges::all_of(elements, [](const Element& e) { return e.number.has_value(); });
  }
  std::optional<std::vector<int64_t>> Numbers() const {
    if (!AllNumbers()) return std::nullopt;
    std::vector<int64_t> numbers;
    for (const auto& e : elements) numbers.push_back(*e.number);
    return numbers;
  }
};

bool IsIntType(int32_t type) { return type == onnx::TensorProto::INT64 || type == onnx::TensorProto::INT32; }

// Every tensor's shape that the graph declares or inference found, element by element.
std::map<std::string, std::vector<Element>> KnownShapes(const onnx::GraphProto& graph) {
  std::map<std::string, std::vector<Element>> shapes;
  auto add = [&shapes](const onnx::ValueInfoProto& info) {
    if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape()) return;
    std::vector<Element> dims;
    for (const auto& d : info.type().tensor_type().shape().dim()) {
      Element e;
      if (d.has_dim_value()) {
        e.number = d.dim_value();
      } else if (d.has_dim_param()) {
        e.dim = d.dim_param();
      }
      dims.push_back(e);
    }
    shapes[info.name()] = std::move(dims);
  };
  for (const auto& info : graph.input()) add(info);
  for (const auto& info : graph.output()) add(info);
  for (const auto& info : graph.value_info()) add(info);
  for (const auto& init : graph.initializer()) {
    std::vector<Element> dims;
    for (const int64_t d : init.dims()) dims.push_back({.number = d});
    shapes[init.name()] = std::move(dims);
  }
  return shapes;
}

class Evaluator {
 public:
  Evaluator(const GraphView& view, std::map<std::string, std::vector<Element>> shapes)
      : view_(view), shapes_(std::move(shapes)) {}

  std::optional<Value> Get(const std::string& name) const {
    if (const auto it = values_.find(name); it != values_.end()) return it->second;
    const auto* init = view_.Initializer(name);
    if (init == nullptr || view_.IsGraphInput(name) || !IsIntType(init->data_type()) || init->dims_size() > 1) {
      return std::nullopt;
    }
    const auto ints = ToInt64s(*init);
    if (!ints.ok() || ints->size() > kMaxElements) return std::nullopt;
    Value v{.scalar = init->dims_size() == 0, .type = init->data_type()};
    for (const int64_t x : *ints) v.elements.push_back({.number = x});
    return v;
  }

  void Set(const std::string& name, Value value) { values_[name] = std::move(value); }

  const std::vector<Element>* ShapeOf(const std::string& name) const {
    const auto it = shapes_.find(name);
    return it == shapes_.end() ? nullptr : &it->second;
  }

  std::optional<Value> Evaluate(const onnx::NodeProto& node) const {
    const std::string& op = node.op_type();
    if (op == "Shape") return EvaluateShape(node);
    if (node.input_size() < 1) return std::nullopt;
    auto first = Get(node.input(0));
    if (!first) return std::nullopt;
    if (op == "Identity") return first;
    if (op == "Cast") {
      const auto to = static_cast<int32_t>(AttrInt(node, "to", 0));
      if (!IsIntType(to)) return std::nullopt;
      Value v = *first;
      v.type = to;
      return v;
    }
    if (op == "Gather") return EvaluateGather(node, *first);
    if (op == "Unsqueeze") {
      if (!first->scalar || Axes(node) != std::vector<int64_t>{0}) return std::nullopt;
      Value v = *first;
      v.scalar = false;
      return v;
    }
    if (op == "Squeeze") {
      const auto axes = Axes(node);
      if (first->scalar || first->elements.size() != 1 || !(axes.empty() || axes == std::vector<int64_t>{0})) {
        return std::nullopt;
      }
      Value v = *first;
      v.scalar = true;
      return v;
    }
    if (op == "Concat") return EvaluateConcat(node);
    if (op == "Slice") return EvaluateSlice(node, *first);
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return EvaluateArithmetic(node, *first);
    return std::nullopt;
  }

 private:
  // Unsqueeze / Squeeze axes: the attribute before opset 13, input 1 from it.
  std::vector<int64_t> Axes(const onnx::NodeProto& node) const {
    if (node.input_size() > 1 && !node.input(1).empty()) {
      const auto axes = Get(node.input(1));
      if (!axes) return {-1};
      return axes->Numbers().value_or(std::vector<int64_t>{-1});
    }
    return AttrInts(node, "axes");
  }

  std::optional<Value> EvaluateShape(const onnx::NodeProto& node) const {
    if (node.input_size() != 1) return std::nullopt;
    const auto* shape = ShapeOf(node.input(0));
    if (shape == nullptr) return std::nullopt;
    const auto rank = static_cast<int64_t>(shape->size());
    auto clamp = [rank](int64_t i) { return std::clamp(i < 0 ? i + rank : i, int64_t{0}, rank); };
    const int64_t start = clamp(AttrInt(node, "start", 0));
    const int64_t end = clamp(AttrInt(node, "end", rank));
    Value v;
    for (int64_t i = start; i < end; ++i) v.elements.push_back((*shape)[static_cast<size_t>(i)]);
    return v;
  }

  std::optional<Value> EvaluateGather(const onnx::NodeProto& node, const Value& data) const {
    if (data.scalar || AttrInt(node, "axis", 0) != 0 || node.input_size() != 2) return std::nullopt;
    const auto indices = Get(node.input(1));
    if (!indices) return std::nullopt;
    const auto numbers = indices->Numbers();
    if (!numbers) return std::nullopt;
    const auto size = static_cast<int64_t>(data.elements.size());
    Value v{.scalar = indices->scalar, .type = data.type};
    for (int64_t i : *numbers) {
      if (i < 0) i += size;
      if (i < 0 || i >= size) return std::nullopt;
      v.elements.push_back(data.elements[static_cast<size_t>(i)]);
    }
    return v;
  }

  std::optional<Value> EvaluateConcat(const onnx::NodeProto& node) const {
    const int64_t axis = AttrInt(node, "axis", 0);
    if (axis != 0 && axis != -1) return std::nullopt;
    Value v;
    for (int k = 0; k < node.input_size(); ++k) {
      const auto part = Get(node.input(k));
      if (!part || part->scalar) return std::nullopt;
      v.type = part->type;
      v.elements.insert(v.elements.end(), part->elements.begin(), part->elements.end());
    }
    return v;
  }

  // Slice of a 1-D value, with constant starts and ends on axis 0 and step 1 (inputs from opset 10,
  // attributes before).
  std::optional<Value> EvaluateSlice(const onnx::NodeProto& node, const Value& data) const {
    if (data.scalar) return std::nullopt;
    std::vector<int64_t> starts = AttrInts(node, "starts");
    std::vector<int64_t> ends = AttrInts(node, "ends");
    std::vector<int64_t> axes = AttrInts(node, "axes");
    std::vector<int64_t> steps;
    auto input = [&](int k, std::vector<int64_t>& out) {
      if (node.input_size() <= k || node.input(k).empty()) return true;
      const auto value = Get(node.input(k));
      if (!value || !value->Numbers()) return false;
      out = *value->Numbers();
      return true;
    };
    if (!input(1, starts) || !input(2, ends) || !input(3, axes) || !input(4, steps)) return std::nullopt;
    if (starts.size() != 1 || ends.size() != 1 || !(axes.empty() || axes[0] == 0 || axes[0] == -1) ||
        !(steps.empty() || steps[0] == 1)) {
      return std::nullopt;
    }
    const auto size = static_cast<int64_t>(data.elements.size());
    auto clamp = [size](int64_t i) { return std::clamp(i < 0 ? i + size : i, int64_t{0}, size); };
    Value v{.type = data.type};
    for (int64_t i = clamp(starts[0]); i < clamp(ends[0]); ++i)
      v.elements.push_back(data.elements[static_cast<size_t>(i)]);
    return v;
  }

  std::optional<Value> EvaluateArithmetic(const onnx::NodeProto& node, const Value& a) const {
    if (node.input_size() != 2) return std::nullopt;
    const auto b = Get(node.input(1));
    if (!b || a.type != b->type) return std::nullopt;
    const size_t n = std::max(a.elements.size(), b->elements.size());
    if ((a.elements.size() != n && a.elements.size() != 1) || (b->elements.size() != n && b->elements.size() != 1)) {
      return std::nullopt;
    }
    const std::string& op = node.op_type();
    Value v{.scalar = a.scalar && b->scalar, .type = a.type};
    for (size_t i = 0; i < n; ++i) {
      const Element& x = a.elements[a.elements.size() == 1 ? 0 : i];
      const Element& y = b->elements[b->elements.size() == 1 ? 0 : i];
      Element r;
      if (x.number && y.number) {
        const int64_t p = *x.number;
        const int64_t q = *y.number;
        if (op == "Add") r.number = p + q;
        if (op == "Sub") r.number = p - q;
        if (op == "Mul") r.number = p * q;
        // Integer Div truncates; shape arithmetic divides non-negative sizes, where every rule agrees.
        if (op == "Div" && p >= 0 && q > 0) r.number = p / q;
      } else if (!x.number && y.number &&
                 (((op == "Add" || op == "Sub") && *y.number == 0) ||
                  ((op == "Mul" || op == "Div") && *y.number == 1))) {
        r = x;
      } else if (x.number && !y.number && ((op == "Add" && *x.number == 0) || (op == "Mul" && *x.number == 1))) {
        r = y;
      }
      v.elements.push_back(r);
    }
    return v;
  }

  const GraphView& view_;
  std::map<std::string, std::vector<Element>> shapes_;
  std::map<std::string, Value> values_;
};

bool Evaluable(const onnx::NodeProto& node) {
  static const std::set<std::string> kOps = {"Shape", "Gather",   "Unsqueeze", "Squeeze", "Concat", "Slice",
                                             "Cast",  "Identity", "Add",       "Sub",     "Mul",    "Div"};
  return IsDefaultDomain(node) && node.output_size() == 1 && kOps.contains(node.op_type());
}

// The constant target of Reshape(data, target) when `target` holds named dimensions: each named
// element at the position of the same named dimension of data becomes 0 (copy it), one element left
// unknown becomes -1; nullopt when that does not pin the target down.
std::optional<std::vector<int64_t>> ReshapeTarget(const onnx::NodeProto& reshape, const Value& target,
                                                  const std::vector<Element>* data_shape) {
  if (target.scalar || target.AllNumbers() || AttrInt(reshape, "allowzero", 0) != 0 || data_shape == nullptr) {
    return std::nullopt;
  }
  std::vector<int64_t> result;
  int unknown = 0;
  for (size_t i = 0; i < target.elements.size(); ++i) {
    const Element& e = target.elements[i];
    if (e.number) {
      // -1 is the one inferred axis; 0 copies data's axis, as allowzero = 0 keeps it meaning.
      if (*e.number < -1) return std::nullopt;
      unknown += *e.number == -1 ? 1 : 0;
      result.push_back(*e.number);
    } else if (!e.dim.empty() && i < data_shape->size() && (*data_shape)[i].dim == e.dim) {
      result.push_back(0);
    } else {
      ++unknown;
      result.push_back(-1);
    }
  }
  if (unknown > 1) return std::nullopt;
  return result;
}

// Erases the evaluable nodes nothing reads any more, until none is left; returns how many.
int64_t EraseUnreadArithmetic(onnx::GraphProto& graph, std::set<std::string>& constants) {
  int64_t erased = 0;
  for (bool changed = true; changed;) {
    changed = false;
    std::set<std::string> read;
    for (const auto& node : graph.node()) {
      read.insert(node.input().begin(), node.input().end());
      for (const auto& name : OuterScopeReads(node)) read.insert(name);
    }
    for (const auto& out : graph.output()) read.insert(out.name());
    std::set<int> unread;
    for (int i = 0; i < graph.node_size(); ++i) {
      const auto& node = graph.node(i);
      if (Evaluable(node) && !read.contains(node.output(0))) {
        unread.insert(i);
        constants.insert(node.input().begin(), node.input().end());
      }
    }
    if (unread.empty()) break;
    EraseNodes(graph, unread);
    erased += static_cast<int64_t>(unread.size());
    changed = true;
  }
  return erased;
}

}  // namespace

Result<PassReport> FoldShapeComputationsPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  PassReport report;
  onnx::GraphProto& graph = *model.mutable_graph();
  const auto declared = graph.value_info();
  int64_t folded = 0;
  int64_t reshapes = 0;
  for (int round = 0; round < kMaxRounds; ++round) {
    *graph.mutable_value_info() = declared;
    if (!InferShapes(model).ok()) break;
    GraphView view(&graph);
    Evaluator evaluator(view, KnownShapes(graph));
    std::vector<onnx::TensorProto> constants;
    std::set<int> replaced;
    for (int i = 0; i < graph.node_size(); ++i) {
      onnx::NodeProto& node = *graph.mutable_node(i);
      if (node.op_type() == "Reshape" && IsDefaultDomain(node) && node.input_size() == 2) {
        const auto target = evaluator.Get(node.input(1));
        const auto pinned = target ? ReshapeTarget(node, *target, evaluator.ShapeOf(node.input(0))) : std::nullopt;
        if (pinned) {
          const auto n = static_cast<int64_t>(pinned->size());
          constants.push_back(MakeIntTensor(view.UniqueName(node.output(0) + "_target"), onnx::TensorProto::INT64,
                                            std::span<const int64_t>(&n, 1), *pinned));
          node.set_input(1, constants.back().name());
          ++reshapes;
        }
        continue;
      }
      if (!Evaluable(node)) continue;
      auto value = evaluator.Evaluate(node);
      if (!value) continue;
      const std::string& out = node.output(0);
      if (value->AllNumbers() && !view.IsGraphOutput(out)) {
        const std::vector<int64_t> numbers = *value->Numbers();
        const auto n = static_cast<int64_t>(numbers.size());
        std::vector<int64_t> dims;
        if (!value->scalar) dims.push_back(n);
        constants.push_back(MakeIntTensor(out, value->type, dims, numbers));
        replaced.insert(i);
      }
      evaluator.Set(out, std::move(*value));
    }
    if (constants.empty()) break;
    EraseNodes(graph, replaced);
    folded += static_cast<int64_t>(replaced.size());
    for (auto& c : constants) *graph.add_initializer() = std::move(c);
  }
  *graph.mutable_value_info() = declared;
  std::set<std::string> candidates;
  const int64_t erased = EraseUnreadArithmetic(graph, candidates);
  RemoveUnused(graph, candidates);
  report.changes = folded + reshapes;
  if (folded > 0) {
    report.notes.push_back(std::to_string(folded) + " shape computations -> constants, " + std::to_string(erased) +
                           " nodes no longer read removed");
  }
  if (reshapes > 0) report.notes.push_back(std::to_string(reshapes) + " Reshape targets made constant");
  return report;
}

}  // namespace onnxq
