#include "testing/fake_backend.h"

#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <thread>
#include <utility>

#include "ir/tensor_util.h"

namespace onnxq::testing {
namespace {

struct Value {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

ValueInfo Describe(const onnx::ValueInfoProto& value) {
  ValueInfo info{.name = value.name()};
  const auto& tensor = value.type().tensor_type();
  switch (tensor.elem_type()) {
    case onnx::TensorProto::FLOAT:
      info.type = ElementType::kFloat;
      break;
    case onnx::TensorProto::INT64:
      info.type = ElementType::kInt64;
      break;
    default:
      info.type_supported = false;
  }
  for (const auto& dim : tensor.shape().dim()) info.shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
  return info;
}

int64_t IntAttribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name) return attr.i();
  }
  return fallback;
}

float FloatAttribute(const onnx::NodeProto& node, const std::string& name, float fallback) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name) return attr.f();
  }
  return fallback;
}

Result<Value> Unary(const std::string& op, const Value& x) {
  Value out = x;
  for (float& v : out.data) v = op == "Relu" ? std::max(v, 0.0F) : op == "Neg" ? -v : v;
  return out;
}

Result<Value> Elementwise(const std::string& op, const Value& first, const Value& second) {
  const Value* a = &first;
  const Value* b = &second;
  const bool swapped = a->data.size() == 1 && b->data.size() != 1;  // the result has the larger shape
  if (swapped) std::swap(a, b);
  if (b->data.size() != a->data.size() && b->data.size() != 1) {
    return InvalidArgument("fake backend: " + op + " operands of " + std::to_string(a->data.size()) + " and " +
                           std::to_string(b->data.size()) + " values");
  }
  Value out{a->shape, std::vector<float>(a->data.size())};
  for (size_t i = 0; i < out.data.size(); ++i) {
    float x = a->data[i];
    float y = b->data[b->data.size() == 1 ? 0 : i];
    if (swapped) std::swap(x, y);
    out.data[i] = op == "Add" ? x + y : op == "Sub" ? x - y : x * y;
  }
  return out;
}

Result<Value> Gemm(const onnx::NodeProto& node, const std::vector<const Value*>& operands) {
  if (operands.size() < 2 || IntAttribute(node, "transA", 0) != 0 || FloatAttribute(node, "alpha", 1.0F) != 1.0F ||
      FloatAttribute(node, "beta", 1.0F) != 1.0F) {
    return Unsupported("fake backend: Gemm '" + node.name() + "' needs A, B, transA = 0, alpha = beta = 1");
  }
  const Value& a = *operands[0];
  const Value& b = *operands[1];
  const bool trans_b = IntAttribute(node, "transB", 0) != 0;
  if (a.shape.size() != 2 || b.shape.size() != 2) return InvalidArgument("fake backend: Gemm of non-matrices");
  const int64_t m = a.shape[0];
  const int64_t k = a.shape[1];
  const int64_t n = trans_b ? b.shape[0] : b.shape[1];
  if ((trans_b ? b.shape[1] : b.shape[0]) != k) return InvalidArgument("fake backend: Gemm shapes do not fit");
  const Value* c = operands.size() > 2 ? operands[2] : nullptr;
  if (c != nullptr && c->data.size() != 1 && static_cast<int64_t>(c->data.size()) != n) {
    return Unsupported("fake backend: Gemm's C must hold one value or N");
  }
  Value out{{m, n}, std::vector<float>(static_cast<size_t>(m * n))};
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = c == nullptr ? 0.0 : c->data[c->data.size() == 1 ? 0 : static_cast<size_t>(j)];
      for (int64_t p = 0; p < k; ++p) {
        const float bv = b.data[static_cast<size_t>(trans_b ? j * k + p : p * n + j)];
        sum += static_cast<double>(a.data[static_cast<size_t>(i * k + p)]) * static_cast<double>(bv);
      }
      out.data[static_cast<size_t>(i * n + j)] = static_cast<float>(sum);
    }
  }
  return out;
}

Result<Value> Dequantize(const onnx::NodeProto& node, const std::vector<const Value*>& operands) {
  if (operands.size() < 2) return InvalidArgument("fake backend: DequantizeLinear needs x and a scale");
  const Value& x = *operands[0];
  const Value& scale = *operands[1];
  const Value* zero_point = operands.size() > 2 ? operands[2] : nullptr;
  size_t channels = 1;
  size_t inner = 1;
  if (scale.data.size() > 1) {
    int64_t axis = IntAttribute(node, "axis", 1);
    if (axis < 0) axis += static_cast<int64_t>(x.shape.size());
    if (axis < 0 || axis >= static_cast<int64_t>(x.shape.size()) ||
        x.shape[static_cast<size_t>(axis)] != static_cast<int64_t>(scale.data.size())) {
      return InvalidArgument("fake backend: DequantizeLinear '" + node.name() + "' scale does not fit its axis");
    }
    channels = scale.data.size();
    for (size_t d = static_cast<size_t>(axis) + 1; d < x.shape.size(); ++d) inner *= static_cast<size_t>(x.shape[d]);
  }
  Value out{x.shape, std::vector<float>(x.data.size())};
  for (size_t i = 0; i < x.data.size(); ++i) {
    const size_t c = channels == 1 ? 0 : (i / inner) % channels;
    const float z = zero_point == nullptr ? 0.0F : zero_point->data[zero_point->data.size() == 1 ? 0 : c];
    out.data[i] = (x.data[i] - z) * scale.data[c];
  }
  return out;
}

class FakeSession final : public InferenceSession {
 public:
  FakeSession(const FakeBackend& backend, const onnx::ModelProto& model, SessionOptions options)
      : backend_(backend), graph_(model.graph()), options_(std::move(options)) {
    std::set<std::string> initializers;
    for (const auto& init : graph_.initializer()) initializers.insert(init.name());
    for (const auto& input : graph_.input()) {
      if (!initializers.contains(input.name())) inputs_.push_back(Describe(input));
    }
    for (const auto& output : graph_.output()) outputs_.push_back(Describe(output));
  }

  // Reads the initializers; fails on what the interpreter cannot run.
  Status Prepare() {
    for (const auto& init : graph_.initializer()) {
      auto floats = ToFloats(init);
      if (!floats.ok()) {
        ONNXQ_ASSIGN_OR_RETURN(const auto ints, ToInt64s(init));
        floats = std::vector<float>(ints.begin(), ints.end());
      }
      initializers_[init.name()] = Value{Dims(init), std::move(floats).value()};
    }
    for (const auto& node : graph_.node()) {
      if (!backend_.Knows(node.op_type())) {
        return Unsupported("fake backend: no op " + node.op_type() + " (node '" + node.name() + "')");
      }
    }
    return Status::Ok();
  }

  const std::vector<ValueInfo>& inputs() const override { return inputs_; }
  const std::vector<ValueInfo>& outputs() const override { return outputs_; }

  Result<RunOutputs> Run(const Feeds& feeds, std::span<const std::string> output_names) override {
    auto values = std::make_shared<std::map<std::string, Value>>();
    ONNXQ_RETURN_IF_ERROR(Compute(feeds, *values, nullptr));
    std::vector<std::string> names(output_names.begin(), output_names.end());
    if (names.empty()) {
      for (const auto& output : outputs_) names.push_back(output.name);
    }
    return Outputs(std::move(values), names);
  }

  Result<RunOutputs> RunObserved(const Feeds& feeds, TensorObserver& observer,
                                 std::span<const std::string> output_names) override {
    if (options_.observed.empty() && output_names.empty()) return RunOutputs();
    auto values = std::make_shared<std::map<std::string, Value>>();
    ONNXQ_RETURN_IF_ERROR(Compute(feeds, *values, &observer));
    return Outputs(std::move(values), {output_names.begin(), output_names.end()});
  }

 private:
  static Result<RunOutputs> Outputs(std::shared_ptr<std::map<std::string, Value>> values,
                                    const std::vector<std::string>& names) {
    std::vector<OutputView> views;
    for (const auto& name : names) {
      const auto it = values->find(name);
      if (it == values->end()) return InvalidArgument("fake backend: no tensor '" + name + "'");
      views.push_back({.name = name, .is_float = true, .shape = it->second.shape, .data = it->second.data});
    }
    return RunOutputs(std::move(views), std::move(values));
  }

  // Runs the graph on `feeds` into `values`, handing each observed tensor to `observer` (when given)
  // as it is computed.
  Status Compute(const Feeds& feeds, std::map<std::string, Value>& values, TensorObserver* observer) {
    ONNXQ_RETURN_IF_ERROR(backend_.BeginRun());
    struct Ending {
      const FakeBackend& backend;
      ~Ending() { backend.EndRun(); }
    } ending{backend_};
    const auto observe = [&](const std::string& name, const Value& value) {
      if (observer == nullptr) return;
      const auto it = std::find(options_.observed.begin(), options_.observed.end(), name);
      if (it != options_.observed.end()) {
        observer->Observe(static_cast<size_t>(it - options_.observed.begin()), value.data, {.shape = value.shape});
      }
    };
    for (const Tensor& feed : feeds) {
      if (feed.type != ElementType::kFloat) return Unsupported("fake backend: input '" + feed.name + "' is not float");
      const auto floats = feed.floats();
      const Value& value = values[feed.name] = Value{feed.shape, {floats.begin(), floats.end()}};
      observe(feed.name, value);
    }
    for (const auto& node : graph_.node()) {
      std::vector<const Value*> operands;
      for (const auto& name : node.input()) {
        const auto it = values.find(name);
        const auto init = initializers_.find(name);
        if (it == values.end() && init == initializers_.end()) {
          return InvalidArgument("fake backend: node '" + node.name() + "' reads '" + name + "', which has no value");
        }
        operands.push_back(it != values.end() ? &it->second : &init->second);
      }
      ONNXQ_ASSIGN_OR_RETURN(Value result, Apply(node, operands));
      const Value& stored = values[node.output(0)] = std::move(result);
      observe(node.output(0), stored);
    }
    return Status::Ok();
  }

  static Result<Value> Apply(const onnx::NodeProto& node, const std::vector<const Value*>& operands) {
    const std::string& op = node.op_type();
    if (op == "Gemm") return Gemm(node, operands);
    if (op == "DequantizeLinear") return Dequantize(node, operands);
    if (op == "Identity" || op == "Relu" || op == "Neg") {
      if (operands.size() != 1) return InvalidArgument("fake backend: " + op + " takes one input");
      return Unary(op, *operands[0]);
    }
    if (operands.size() != 2) return InvalidArgument("fake backend: " + op + " takes two inputs");
    return Elementwise(op, *operands[0], *operands[1]);
  }

  const FakeBackend& backend_;
  onnx::GraphProto graph_;
  SessionOptions options_;
  std::vector<ValueInfo> inputs_;
  std::vector<ValueInfo> outputs_;
  std::map<std::string, Value> initializers_;
};

}  // namespace

void FakeBackend::Load() const {
  std::call_once(loaded_, [this] {
    ops_ = {"Identity", "Relu", "Neg", "Add", "Sub", "Mul", "Gemm", "DequantizeLinear"};
    ++loads_;
  });
}

bool FakeBackend::Knows(const std::string& op) const { return std::find(ops_.begin(), ops_.end(), op) != ops_.end(); }

Result<std::unique_ptr<InferenceSession>> FakeBackend::CreateSession(const onnx::ModelProto& model,
                                                                     const SessionOptions& options) const {
  Load();
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    sessions_.push_back(options);
  }
  auto session = std::make_unique<FakeSession>(*this, model, options);
  ONNXQ_RETURN_IF_ERROR(session->Prepare());
  return std::unique_ptr<InferenceSession>(std::move(session));
}

std::vector<SessionOptions> FakeBackend::session_options() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return sessions_;
}

Status FakeBackend::BeginRun() const {
  const int64_t run = runs_++;
  const int running = ++running_;
  int most = most_concurrent_.load();
  while (running > most && !most_concurrent_.compare_exchange_weak(most, running)) {
  }
  if (options_.run_time.count() > 0) std::this_thread::sleep_for(options_.run_time);
  if (run == options_.failing_run) {
    EndRun();
    return RuntimeError("fake backend: run " + std::to_string(run) + " fails");
  }
  return Status::Ok();
}

void FakeBackend::EndRun() const { --running_; }

}  // namespace onnxq::testing
