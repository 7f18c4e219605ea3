#include <onnx/defs/parser.h>
#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "calibration/observe_tensors.h"
#include "calibration/onnxruntime_backend.h"
#include "io/file_safety.h"
#include "io/serialize_model.h"
#include "io/weights_on_disk.h"
#include "onnxq/calibrate.h"
#include "onnxq/model_io.h"
#include "onnxq/runtime_log.h"

namespace onnxq {
namespace {

// Some builds of the runtime (the npm one among them) start a telemetry system with the environment:
// it writes a log file per process under /tmp and a database under ~/.cache, and takes about 10 ms.
// onnxq sends nothing anywhere, so it turns that off unless the user set the variable. Set before any
// other thread of onnxq's reads the environment (OnnxRuntimeBackend does it first, in its caller).
void DisableRuntimeTelemetry() { ::setenv("ORT_DISABLE_TELEMETRY", "1", /*overwrite=*/0); }

std::atomic<RuntimeLogHandler> runtime_log_handler{nullptr};

RuntimeLogSeverity SeverityOf(OrtLoggingLevel level) {
  switch (level) {
    case ORT_LOGGING_LEVEL_VERBOSE:
      return RuntimeLogSeverity::kVerbose;
    case ORT_LOGGING_LEVEL_INFO:
      return RuntimeLogSeverity::kInfo;
    case ORT_LOGGING_LEVEL_WARNING:
      return RuntimeLogSeverity::kWarning;
    case ORT_LOGGING_LEVEL_ERROR:
      return RuntimeLogSeverity::kError;
    default:
      return RuntimeLogSeverity::kFatal;
  }
}

// The runtime's logger: its lines go to the handler, if any, as one line each; never to stderr directly
// (the runtime's default logger writes coloured, sometimes multi-line text, once per worker).
void LogFromRuntime(void* /*param*/, OrtLoggingLevel level, const char* /*category*/, const char* /*logid*/,
                    const char* /*code_location*/, const char* message) {
  const RuntimeLogHandler handler = runtime_log_handler.load();
  if (handler == nullptr || message == nullptr) return;
  handler(SeverityOf(level), OneLogLine(message));
}

// Never destroyed: sessions may outlive the statics of the caller.
Ort::Env& Environment() {
  static auto* env = [] {
    DisableRuntimeTelemetry();
    // Warnings and above reach LogFromRuntime; errors also reach onnxq as exceptions, which become
    // one-line messages.
    return new Ort::Env(ORT_LOGGING_LEVEL_WARNING, "onnxq", LogFromRuntime,  // NOLINT(cppcoreguidelines-owning-memory)
                        nullptr);
  }();
  return *env;
}

bool ToElementType(ONNXTensorElementDataType type, ElementType* out) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
      *out = ElementType::kFloat;
      return true;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
      *out = ElementType::kInt64;
      return true;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
      *out = ElementType::kInt32;
      return true;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
      *out = ElementType::kUInt8;
      return true;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
      *out = ElementType::kInt8;
      return true;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
      *out = ElementType::kBool;
      return true;
    default:
      return false;
  }
}

ONNXTensorElementDataType ToOrtType(ElementType type) {
  switch (type) {
    case ElementType::kFloat:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case ElementType::kInt64:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    case ElementType::kInt32:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case ElementType::kUInt8:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    case ElementType::kInt8:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    case ElementType::kBool:
      return ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
  }
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}

ValueInfo Describe(const std::string& name, const Ort::TypeInfo& info) {
  ValueInfo vi;
  vi.name = name;
  if (info.GetONNXType() != ONNX_TYPE_TENSOR) {
    vi.type_supported = false;
    return vi;
  }
  auto tensor = info.GetTensorTypeAndShapeInfo();
  vi.type_supported = ToElementType(tensor.GetElementType(), &vi.type);
  vi.shape = tensor.GetShape();
  return vi;
}

// Channels in one block of the engine's blocked layout on this machine (0 if it does not block).
int64_t BlockSize();

// The observer of the run in progress on this thread (a run executes its nodes on the calling thread).
thread_local TensorObserver* current_observer = nullptr;

// The Observe operator (observe_tensors.h): hands its input to the current observer.
class ObserveKernel {
 public:
  ObserveKernel(int64_t index, int64_t channels) : index_(static_cast<size_t>(index)), channels_(channels) {}

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) const {
    try {
      const Ort::KernelContext context(raw_context);
      const std::array<int64_t, 1> empty{0};
      context.GetOutput(0, empty.data(), empty.size());
      const Ort::ConstValue input = context.GetInput(0);
      const auto info = input.GetTensorTypeAndShapeInfo();
      if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) return nullptr;
      TensorObserver* const observer = current_observer;
      if (observer == nullptr) return nullptr;  // a run that observes nothing
      std::span<const float> values(input.GetTensorData<float>(), info.GetElementCount());
      thread_local std::vector<int64_t> shape;
      shape = info.GetShape();
      ObservedLayout layout{.shape = shape};
      if (channels_ > 0 && shape.size() >= 2) {
        const int64_t block = BlockSize();
        if (block <= 0 || shape[1] % block != 0 || shape[1] < channels_) {
          const std::string message =
              "a blocked tensor has " + std::to_string(shape[1]) + " channels for " + std::to_string(channels_);
          return Ort::GetApi().CreateStatus(ORT_FAIL, message.c_str());
        }
        if (shape[1] != channels_) {
          int64_t spatial = 1;
          for (size_t d = 2; d < shape.size(); ++d) spatial *= shape[d];
          thread_local std::vector<float> unpadded;
          DropChannelPadding(values, shape[0], shape[1], spatial, channels_, block, unpadded);
          values = unpadded;
          shape[1] = channels_;
        }
        layout.block = block;
      }
      observer->Observe(index_, values, layout);
      return nullptr;
    } catch (const Ort::Exception& e) {
      return Ort::Status(e).release();
    } catch (const std::exception& e) {
      return Ort::Status(e).release();
    }
  }

 private:
  size_t index_;
  int64_t channels_;
};

struct ObserveOp : Ort::CustomOpBase<ObserveOp, ObserveKernel, /*WithStatus=*/true> {
  static OrtStatusPtr CreateKernelV2(const OrtApi& /*api*/, const OrtKernelInfo* info, void** kernel) {
    try {
      const Ort::ConstKernelInfo attributes(info);
      *kernel = new ObserveKernel(attributes.GetAttribute<int64_t>("index"),  // NOLINT(cppcoreguidelines-owning-memory)
                                  attributes.GetAttribute<int64_t>("channels"));
      return nullptr;
    } catch (const Ort::Exception& e) {
      return Ort::Status(e).release();
    }
  }
  static const char* GetName() { return kObserveOp; }
  static size_t GetInputTypeCount() { return 1; }
  static ONNXTensorElementDataType GetInputType(size_t /*index*/) { return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED; }
  static size_t GetOutputTypeCount() { return 1; }
  static ONNXTensorElementDataType GetOutputType(size_t /*index*/) { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
};

// Never destroyed, like the environment: sessions using it may outlive the caller's statics. The op
// and the domain's wrapper stay reachable from these statics (keeping only the wrapped pointer would
// lose the wrapper: a leak).
OrtCustomOpDomain* ObserveDomain() {
  static auto* const op = new ObserveOp();  // NOLINT(cppcoreguidelines-owning-memory)
  static auto* const domain = [] {
    auto* created = new Ort::CustomOpDomain(kObserveDomain);  // NOLINT(cppcoreguidelines-owning-memory)
    created->Add(op);
    return created;
  }();
  return *domain;
}

// What WriteOptimizedModel reads back of the optimized model's initializers of 1 KiB or more.
enum class OptimizedWeights {
  kRead,
  kLeftOut,  // written to a data file of their own and not read: names, types and dims only
};

// Writes the engine's optimized model of `bytes` and reads it back.
Result<onnx::ModelProto> WriteOptimizedModel(const std::string& bytes, const Ort::SessionOptions& options,
                                             OptimizedWeights weights = OptimizedWeights::kRead) {
  ONNXQ_ASSIGN_OR_RETURN(const auto folder, TemporaryFolder::Create("the optimized model"));
  const auto path = folder.path() / "optimized.onnx";
  Ort::SessionOptions optimizing = options.Clone();
  optimizing.SetOptimizedModelFilePath(path.c_str());
  optimizing.AddConfigEntry("session.disable_prepacking", "1");  // it never runs: no packed weights
  if (weights == OptimizedWeights::kLeftOut) {
    optimizing.AddConfigEntry("session.optimized_model_external_initializers_file_name", "optimized.onnx.data");
    optimizing.AddConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
  }
  try {
    // Building the session writes the optimized model; the session itself is not needed.
    Ort::Session(Environment(), bytes.data(), bytes.size(), optimizing);
  } catch (const Ort::Exception& e) {
    return RuntimeError(std::string("ONNX Runtime cannot load the model: ") + e.what());
  }
  if (weights == OptimizedWeights::kRead) return LoadModel(path);
  ONNXQ_ASSIGN_OR_RETURN(const std::string written, ReadWholeFile(path, "optimized model"));
  return ParseModel(written, path.string());
}

// A session running `optimized` (an optimized model with Observe nodes) as it is.
Ort::Session OpenRewritten(onnx::ModelProto& optimized, const Ort::SessionOptions& options) {
  std::string bytes;
  const bool serialized = optimized.SerializeToString(&bytes);
  onnx::ModelProto().Swap(&optimized);  // one copy of the weights at a time, for large models
  if (!serialized) throw Ort::Exception("cannot serialize the rewritten model", ORT_FAIL);
  Ort::SessionOptions as_optimized = options.Clone();
  as_optimized.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_DISABLE_ALL);
  as_optimized.Add(ObserveDomain());
  // The runtime registers a custom domain's schemas in a map of its own as each session starts, and
  // two sessions registering the same domain at once can fail ("domain is already exist"): one at a
  // time (the block-size probe starts one while the calibration session does).
  static std::mutex registering;
  const std::lock_guard<std::mutex> lock(registering);
  return {Environment(), bytes.data(), bytes.size(), as_optimized};
}

// A session that hands `observed` to an observer as the engine computes them: built from the engine's
// own optimized model of `bytes` (which exposes them as graph outputs) with Observe nodes in place of
// the exposures, and no further optimization. nullopt when the engine cannot write its optimized model
// or refuses the rewritten one. `kept_outputs` are the graph outputs of the model before the exposures.
std::optional<Ort::Session> OpenObserved(const std::string& bytes, const Ort::SessionOptions& options,
                                         const std::vector<std::string>& observed,
                                         const std::set<std::string>& kept_outputs) {
  auto optimized = WriteOptimizedModel(bytes, options);
  if (!optimized.ok() || !ObserveTensors(*optimized, observed, kept_outputs)) return std::nullopt;
  // Observe kernels on blocked tensors need the block size: probing it here (or waiting for the
  // preload's probe) keeps the probe's own sessions out of a run, and a failed probe means graph
  // outputs instead.
  if (ObservesBlockedTensor(*optimized) && BlockSize() <= 0) return std::nullopt;
  try {
    return OpenRewritten(*optimized, options);
  } catch (const Ort::Exception&) {
    return std::nullopt;  // a model the engine refuses fails again, with its message, in the fallback
  }
}

// Remembers how many values an observed run handed over.
class CountingObserver final : public TensorObserver {
 public:
  void Observe(size_t /*index*/, std::span<const float> values, const ObservedLayout& /*layout*/) override {
    count = values.size();
  }
  size_t count = 0;
};

int64_t BlockSize() {
  // Read off a 1x1 convolution with 4 output channels, which the engine pads to one whole block: its
  // Observe node is given no channel count, so it hands the padding over too.
  static const int64_t block = [] {
    try {
      onnx::ModelProto probe;
      onnx::OnnxParser parser(R"(
        <ir_version: 7, opset_import: ["" : 13]>
        block_size_probe (float[1,1,2,2] x) => (float[1,4,2,2] y)
        <float[4,1,1,1] w = {1, 1, 1, 1}>
        {
          y = Conv(x, w)
        }
      )");
      if (!parser.Parse(probe).IsOK()) return int64_t{0};
      std::string bytes;
      probe.SerializeToString(&bytes);
      Ort::SessionOptions options;
      options.SetIntraOpNumThreads(1);
      auto optimized = WriteOptimizedModel(bytes, options);
      if (!optimized.ok() || !ObserveTensors(*optimized, {"y"}, {})) return int64_t{0};
      if (!ObservesBlockedTensor(*optimized)) return int64_t{0};
      for (auto& node : *optimized->mutable_graph()->mutable_node()) {
        if (node.op_type() != kObserveOp) continue;
        for (auto& attribute : *node.mutable_attribute()) {
          if (attribute.name() == "channels") attribute.set_i(0);
        }
      }
      Ort::Session session = OpenRewritten(*optimized, options);
      const char* input_name = "x";
      const char* output_name = "onnxq_observed_0";
      std::array<float, 4> x{};
      const std::array<int64_t, 4> shape{1, 1, 2, 2};
      const auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
      auto value = Ort::Value::CreateTensor<float>(memory, x.data(), x.size(), shape.data(), shape.size());
      // The probe's own run, on a thread that observes nothing else meanwhile (sessions with blocked
      // Observe nodes are built only after the probe: OpenObserved).
      CountingObserver observer;
      TensorObserver* const outer = std::exchange(current_observer, &observer);
      try {
        session.Run(Ort::RunOptions{nullptr}, &input_name, &value, 1, &output_name, 1);
      } catch (const Ort::Exception&) {
        current_observer = outer;
        return int64_t{0};
      }
      current_observer = outer;
      return static_cast<int64_t>(observer.count / 4);  // 4 positions a channel
    } catch (const Ort::Exception&) {
      return int64_t{0};
    }
  }();
  return block;
}

class OnnxRuntimeSession final : public InferenceSession {
 public:
  // `outputs` are the graph outputs callers see (the model's own); the session may have more.
  // `observed` are handed to observers by Observe nodes when `through_outputs` is false, else taken
  // as graph outputs after each run.
  OnnxRuntimeSession(Ort::Session session, const std::set<std::string>& outputs, std::vector<std::string> observed,
                     bool through_outputs)
      : session_(std::move(session)), observed_(std::move(observed)), through_outputs_(through_outputs) {
    Ort::AllocatorWithDefaultOptions allocator;
    for (size_t i = 0; i < session_.GetInputCount(); ++i) {
      const std::string name = session_.GetInputNameAllocated(i, allocator).get();
      inputs_.push_back(Describe(name, session_.GetInputTypeInfo(i)));
    }
    for (size_t i = 0; i < session_.GetOutputCount(); ++i) {
      std::string name = session_.GetOutputNameAllocated(i, allocator).get();
      if (!outputs.contains(name)) {
        if (!through_outputs_) observer_outputs_.push_back(std::move(name));
        continue;
      }
      all_output_names_.push_back(name);
      outputs_.push_back(Describe(name, session_.GetOutputTypeInfo(i)));
    }
  }

  const std::vector<ValueInfo>& inputs() const override { return inputs_; }
  const std::vector<ValueInfo>& outputs() const override { return outputs_; }

  Result<RunOutputs> Run(const Feeds& feeds, std::span<const std::string> output_names) override {
    if (output_names.empty()) output_names = all_output_names_;
    try {
      return Views(RunSession(feeds, output_names), output_names, 0);
    } catch (const Ort::Exception& e) {
      return RuntimeError(std::string("ONNX Runtime failed to run the model: ") + e.what());
    }
  }

  using InferenceSession::RunObserved;
  Result<RunOutputs> RunObserved(const Feeds& feeds, TensorObserver& observer,
                                 std::span<const std::string> output_names) override {
    // Nothing observed: no run is needed (and to Run, no output names would mean every graph output,
    // handed to an observer expecting none).
    if (observed_.empty()) return output_names.empty() ? RunOutputs() : Run(feeds, output_names);
    if (through_outputs_) {
      // The observed tensors, then the outputs asked for that are not among them (a name fetched twice
      // would be an error).
      std::vector<std::string> fetched = observed_;
      std::vector<size_t> asked;
      asked.reserve(output_names.size());
      for (const auto& name : output_names) {
        const auto it = std::find(fetched.begin(), fetched.end(), name);
        asked.push_back(static_cast<size_t>(it - fetched.begin()));
        if (it == fetched.end()) fetched.push_back(name);
      }
      ONNXQ_ASSIGN_OR_RETURN(const RunOutputs outputs, Run(feeds, fetched));
      for (size_t i = 0; i < observed_.size(); ++i) {
        if (outputs[i].is_float) observer.Observe(i, outputs[i].data, {.shape = outputs[i].shape});
      }
      std::vector<OutputView> views;
      views.reserve(asked.size());
      for (const size_t i : asked) views.push_back(outputs[i]);
      return RunOutputs(std::move(views), outputs.owner());
    }
    // The Observe nodes' outputs, then the graph outputs asked for.
    std::vector<std::string> fetched = observer_outputs_;
    fetched.insert(fetched.end(), output_names.begin(), output_names.end());
    const size_t first_output = observer_outputs_.size();
    struct Installed {
      explicit Installed(TensorObserver* o) { current_observer = o; }
      ~Installed() { current_observer = nullptr; }
      Installed(const Installed&) = delete;
      Installed& operator=(const Installed&) = delete;
    } installed(&observer);
    try {
      return Views(RunSession(feeds, fetched), fetched, first_output);
    } catch (const Ort::Exception& e) {
      return RuntimeError(std::string("ONNX Runtime failed to run the model: ") + e.what());
    }
  }

 private:
  // Views of `values[first...]`, named by `names`, kept alive with all of `values`.
  static RunOutputs Views(std::vector<Ort::Value> values, std::span<const std::string> names, size_t first) {
    auto held = std::make_shared<std::vector<Ort::Value>>(std::move(values));
    std::vector<OutputView> views;
    views.reserve(held->size() - first);
    for (size_t i = first; i < held->size(); ++i) {
      OutputView view;
      view.name = names[i];
      Ort::Value& value = (*held)[i];
      if (value.IsTensor()) {
        auto info = value.GetTensorTypeAndShapeInfo();
        view.shape = info.GetShape();
        if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
          view.is_float = true;
          view.data = {value.GetTensorData<float>(), info.GetElementCount()};
        }
      }
      views.push_back(std::move(view));
    }
    return {std::move(views), std::move(held)};
  }

  std::vector<Ort::Value> RunSession(const Feeds& feeds, std::span<const std::string> output_names) {
    const auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    std::vector<Ort::Value> inputs;
    std::vector<const char*> input_names;
    inputs.reserve(feeds.size());
    for (const Tensor& feed : feeds) {
      // The runtime does not write to inputs; the const_cast only satisfies its signature.
      void* data = const_cast<std::byte*>(feed.bytes.data());  // NOLINT(cppcoreguidelines-pro-type-const-cast)
      inputs.push_back(Ort::Value::CreateTensor(memory, data, feed.bytes.size(), feed.shape.data(), feed.shape.size(),
                                                ToOrtType(feed.type)));
      input_names.push_back(feed.name.c_str());
    }
    std::vector<const char*> names;
    names.reserve(output_names.size());
    for (const auto& n : output_names) names.push_back(n.c_str());
    return session_.Run(Ort::RunOptions{nullptr}, input_names.data(), inputs.data(), inputs.size(), names.data(),
                        names.size());
  }

  Ort::Session session_;
  std::vector<std::string> observed_;
  bool through_outputs_;
  std::vector<std::string> observer_outputs_;  // of the Observe nodes
  std::vector<ValueInfo> inputs_;
  std::vector<ValueInfo> outputs_;
  std::vector<std::string> all_output_names_;
};

// The model with each of `tensors` that is not already one a graph output too.
onnx::ModelProto WithOutputs(const onnx::ModelProto& model, const std::vector<std::string>& tensors) {
  onnx::ModelProto exposed = model;
  auto* graph = exposed.mutable_graph();
  std::set<std::string> outputs;
  for (const auto& output : graph->output()) outputs.insert(output.name());
  for (const auto& name : tensors) {
    // No type: the runtime infers it.
    if (outputs.insert(name).second) graph->add_output()->set_name(name);
  }
  return exposed;
}

bool HasExternalInitializer(const onnx::ModelProto& model) {
  const auto& inits = model.graph().initializer();
  return std::any_of(inits.begin(), inits.end(),
                     [](const onnx::TensorProto& init) { return init.data_location() == onnx::TensorProto::EXTERNAL; });
}

// A session of `model` whose large weights lie in a file by absolute path (WeightsOnDisk): the model
// goes as bytes, with the file's folder for the runtime to read them from, so they are held only once,
// by the runtime.
Ort::Session OpenWithWeightsOnDisk(const onnx::ModelProto& model, const Ort::SessionOptions& options) {
  onnx::ModelProto relative = model;  // small: the weights are not in it
  const std::optional<std::filesystem::path> folder = RelativizeAbsoluteExternalData(relative);
  std::string bytes;
  if (!relative.SerializeToString(&bytes)) throw Ort::Exception("cannot serialize the model", ORT_FAIL);
  Ort::SessionOptions reading = options.Clone();
  if (folder) reading.AddConfigEntry("session.model_external_initializers_file_folder_path", folder->c_str());
  return {Environment(), bytes.data(), bytes.size(), reading};
}

class OnnxRuntimeInferenceBackend final : public InferenceBackend {
 public:
  // The first use of the runtime registers its operators; the probe also creates its first kernels.
  void Load() const override {
    try {
      (void)Environment();
    } catch (const Ort::Exception&) {
      return;  // reported by the first session
    }
    (void)BlockSize();
  }

  Result<std::unique_ptr<InferenceSession>> CreateSession(const onnx::ModelProto& model,
                                                          const SessionOptions& options) const override {
    return CreateOnnxRuntimeSession(model, options);
  }

  // Every optimization on (the level sessions run with), on one thread: the graph does not depend on
  // the thread count.
  Result<onnx::ModelProto> OptimizedModel(const onnx::ModelProto& model) const override {
    if (!FitsInOneProto(model)) return Unsupported("the optimized model of a model over 2 GB is not read back");
    std::string bytes;
    if (!SerializeOnFreshMemory(model, &bytes)) return Internal("cannot serialize the model for ONNX Runtime");
    try {
      Ort::SessionOptions options;
      options.SetIntraOpNumThreads(1);
      options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
      return WriteOptimizedModel(bytes, options, OptimizedWeights::kLeftOut);
    } catch (const Ort::Exception& e) {
      return RuntimeError(std::string("ONNX Runtime cannot load the model: ") + e.what());
    }
  }
};

}  // namespace

// Never destroyed, like the environment: a preload's thread may still use it at exit. Its first use,
// on the caller's thread, turns the telemetry off before a loading thread starts.
const InferenceBackend& OnnxRuntimeBackend() {
  static const auto* backend = [] {
    DisableRuntimeTelemetry();
    return new OnnxRuntimeInferenceBackend();  // NOLINT(cppcoreguidelines-owning-memory)
  }();
  return *backend;
}

InferenceEnginePreload::InferenceEnginePreload() {
  static const auto* loading =
      new std::shared_future<void>(LoadInBackground(OnnxRuntimeBackend()));  // NOLINT(cppcoreguidelines-owning-memory)
  loading_ = *loading;
}

InferenceEnginePreload::~InferenceEnginePreload() { loading_.wait(); }

Result<std::unique_ptr<InferenceSession>> CreateOnnxRuntimeSession(const onnx::ModelProto& model,
                                                                   const SessionOptions& options) {
  try {
    Ort::SessionOptions so;
    if (options.intra_op_threads > 0) so.SetIntraOpNumThreads(options.intra_op_threads);
    // Idle runtime threads must not spin while onnxq's own workers fold statistics.
    if (!options.allow_spinning) so.AddConfigEntry("session.intra_op.allow_spinning", "0");
    if (!options.memory_pattern) so.DisableMemPattern();
    so.SetGraphOptimizationLevel(options.optimize_graph ? GraphOptimizationLevel::ORT_ENABLE_ALL
                                                        : GraphOptimizationLevel::ORT_DISABLE_ALL);
    std::set<std::string> outputs;
    for (const auto& output : model.graph().output()) outputs.insert(output.name());
    const auto make = [&](Ort::Session session, bool through_outputs) {
      return std::unique_ptr<InferenceSession>(
          std::make_unique<OnnxRuntimeSession>(std::move(session), outputs, options.observed, through_outputs));
    };
    std::optional<onnx::ModelProto> with_outputs;
    if (!options.observed.empty()) {
      with_outputs = WithOutputs(model, options.observed);
    }
    const onnx::ModelProto& exposed = with_outputs ? *with_outputs : model;
    if (HasExternalInitializer(exposed)) return make(OpenWithWeightsOnDisk(exposed, so), true);
    if (FitsInOneProto(exposed)) {
      std::string bytes;
      if (!SerializeOnFreshMemory(exposed, &bytes)) return Internal("cannot serialize the model for ONNX Runtime");
      if (!options.observed.empty() && options.optimize_graph) {
        if (auto observing = OpenObserved(bytes, so, options.observed, outputs)) {
          return make(std::move(*observing), false);
        }
      }
      return make(Ort::Session(Environment(), bytes.data(), bytes.size(), so), true);
    }
    // Over 2 GB: stage on disk with external data; the runtime reads it while creating the session,
    // and the folder goes whatever happens.
    ONNXQ_ASSIGN_OR_RETURN(const auto folder, TemporaryFolder::Create("a model over 2 GB"));
    const auto path = folder.path() / "model.onnx";
    ONNXQ_RETURN_IF_ERROR(
        SaveModel(exposed, path, {.external_data = ExternalData::kAlways, .durability = Durability::kCacheOnly}));
    return make(Ort::Session(Environment(), path.c_str(), so), true);
  } catch (const Ort::Exception& e) {
    return RuntimeError(std::string("ONNX Runtime cannot load the model: ") + e.what());
  }
}

void SetRuntimeLogHandler(RuntimeLogHandler handler) { runtime_log_handler.store(handler); }

std::string OneLogLine(std::string_view text) {
  std::string line;
  line.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {  // an ANSI sequence: ESC [ ... letter
      i += 2;
      while (i < text.size() && !((text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= 'a' && text[i] <= 'z'))) ++i;
      continue;
    }
    const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (space) {
      if (!line.empty() && line.back() != ' ') line.push_back(' ');
    } else if (static_cast<unsigned char>(c) >= 0x20) {
      line.push_back(c);
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

}  // namespace onnxq
