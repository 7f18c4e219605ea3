#include <onnx/defs/parser.h>
#include <onnxruntime_cxx_api.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "calibration/blocked_layout.h"
#include "calibration/inference_backend.h"
#include "onnxq/calibrate.h"
#include "onnxq/model_io.h"

namespace onnxq {
namespace {

// Never destroyed: sessions may outlive the statics of the caller.
Ort::Env& Environment() {
  static auto* env = new Ort::Env(ORT_LOGGING_LEVEL_ERROR, "onnxq");  // NOLINT(cppcoreguidelines-owning-memory)
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

// A folder under the system's temporary directory, removed with everything in it at scope exit.
class TemporaryFolder {
 public:
  static Result<TemporaryFolder> Create(const std::string& purpose) {
    static std::atomic<int> counter{0};
    std::error_code ec;
    const auto dir = std::filesystem::temp_directory_path(ec) /
                     ("onnxq-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir, ec);
    if (ec) return IoError("cannot create a temporary folder for " + purpose + ": " + ec.message());
    return TemporaryFolder(dir);
  }
  TemporaryFolder(TemporaryFolder&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TemporaryFolder& operator=(TemporaryFolder&&) = delete;
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  ~TemporaryFolder() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TemporaryFolder(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

// A session whose `blocked` outputs come out of the engine in its channel-blocked layout.
struct SessionWithBlockedOutputs {
  Ort::Session session;
  std::map<std::string, BlockedOutput> blocked;
};

// Builds the session and, when some `unordered` outputs are computed blocked, rebuilds it from the
// engine's own optimized model with those outputs taken before their conversion to NCHW (and no
// further optimization). Falls back to a plain session when the engine cannot write its optimized
// model or refuses the rewritten one.
SessionWithBlockedOutputs OpenWithBlockedOutputs(const std::string& bytes, const Ort::SessionOptions& options,
                                                 const std::set<std::string>& unordered) {
  auto folder = TemporaryFolder::Create("the optimized model");
  if (!folder.ok()) return {Ort::Session(Environment(), bytes.data(), bytes.size(), options), {}};
  const auto optimized_path = folder->path() / "optimized.onnx";
  Ort::SessionOptions optimizing = options.Clone();
  optimizing.SetOptimizedModelFilePath(optimized_path.c_str());
  std::optional<Ort::Session> saved;
  try {
    saved.emplace(Environment(), bytes.data(), bytes.size(), optimizing);
  } catch (const Ort::Exception&) {
    // Writing the optimized model failed (not loading it: that error comes again below).
    return {Ort::Session(Environment(), bytes.data(), bytes.size(), options), {}};
  }
  auto optimized = LoadModel(optimized_path);
  if (!optimized.ok()) return {std::move(*saved), {}};
  auto blocked = ExposeBlockedOutputs(*optimized, unordered);
  if (blocked.empty()) return {std::move(*saved), {}};
  std::string rewritten;
  const bool serialized = optimized->SerializeToString(&rewritten);
  onnx::ModelProto().Swap(&*optimized);  // one copy of the weights at a time, for large models
  saved.reset();
  if (serialized) {
    Ort::SessionOptions as_optimized = options.Clone();
    as_optimized.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_DISABLE_ALL);
    try {
      return {Ort::Session(Environment(), rewritten.data(), rewritten.size(), as_optimized), std::move(blocked)};
    } catch (const Ort::Exception&) {
      // The engine refused its own rewritten model: run the model as given.
    }
  }
  return {Ort::Session(Environment(), bytes.data(), bytes.size(), options), {}};
}

// Channels in one block of the engine's blocked layout on this machine (0 if it does not block):
// read off a 1x1 convolution with 4 output channels, which the engine pads to one whole block.
int64_t BlockSize() {
  static const int64_t block = [] {
    try {
      onnx::ModelProto probe;
      onnx::OnnxParser parser(R"(
        <ir_version: 7, opset_import: ["" : 13]>
        block_size_probe (float[1,1,2,2] x) => (float y)
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
      auto opened = OpenWithBlockedOutputs(bytes, options, {"y"});
      if (opened.blocked.empty()) return int64_t{0};
      const char* input_name = "x";
      const char* output_name = opened.blocked.at("y").source.c_str();
      std::array<float, 4> x{};
      const std::array<int64_t, 4> shape{1, 1, 2, 2};
      const auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
      auto value = Ort::Value::CreateTensor<float>(memory, x.data(), x.size(), shape.data(), shape.size());
      auto result = opened.session.Run(Ort::RunOptions{nullptr}, &input_name, &value, 1, &output_name, 1);
      const auto dims = result[0].GetTensorTypeAndShapeInfo().GetShape();
      return dims.size() == 4 ? dims[1] : int64_t{0};
    } catch (const Ort::Exception&) {
      return int64_t{0};
    }
  }();
  return block;
}

class OnnxRuntimeSession final : public InferenceSession {
 public:
  OnnxRuntimeSession(Ort::Session session, std::map<std::string, BlockedOutput> blocked)
      : session_(std::move(session)), blocked_(std::move(blocked)) {
    Ort::AllocatorWithDefaultOptions allocator;
    for (size_t i = 0; i < session_.GetInputCount(); ++i) {
      const std::string name = session_.GetInputNameAllocated(i, allocator).get();
      inputs_.push_back(Describe(name, session_.GetInputTypeInfo(i)));
    }
    for (size_t i = 0; i < session_.GetOutputCount(); ++i) {
      std::string name = session_.GetOutputNameAllocated(i, allocator).get();
      ValueInfo info = Describe(name, session_.GetOutputTypeInfo(i));
      // Blocked outputs keep the names (and channel counts) of the model the caller gave.
      for (const auto& [original, b] : blocked_) {
        if (b.source == name) {
          info.name = original;
          if (info.shape.size() > 1) info.shape[1] = b.channels;
        }
      }
      all_output_names_.push_back(info.name);
      outputs_.push_back(std::move(info));
    }
  }

  const std::vector<ValueInfo>& inputs() const override { return inputs_; }
  const std::vector<ValueInfo>& outputs() const override { return outputs_; }

  Result<RunOutputs> Run(const Feeds& feeds, std::span<const std::string> output_names) override {
    if (output_names.empty()) output_names = all_output_names_;
    try {
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
      std::vector<const BlockedOutput*> layouts;
      names.reserve(output_names.size());
      for (const auto& n : output_names) {
        const auto it = blocked_.find(n);
        layouts.push_back(it == blocked_.end() ? nullptr : &it->second);
        names.push_back(it == blocked_.end() ? n.c_str() : it->second.source.c_str());
      }
      auto held = std::make_shared<HeldOutputs>();
      held->values = session_.Run(Ort::RunOptions{nullptr}, input_names.data(), inputs.data(), inputs.size(),
                                  names.data(), names.size());
      std::vector<OutputView> views;
      views.reserve(held->values.size());
      for (size_t i = 0; i < held->values.size(); ++i) {
        OutputView view;
        view.name = output_names[i];
        Ort::Value& value = held->values[i];
        if (value.IsTensor()) {
          auto info = value.GetTensorTypeAndShapeInfo();
          view.shape = info.GetShape();
          if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
            view.is_float = true;
            view.data = {value.GetTensorData<float>(), info.GetElementCount()};
            if (layouts[i] != nullptr) ONNXQ_RETURN_IF_ERROR(Unblock(*layouts[i], *held, view));
          }
        }
        views.push_back(std::move(view));
      }
      return RunOutputs(std::move(views), std::move(held));
    } catch (const Ort::Exception& e) {
      return RuntimeError(std::string("ONNX Runtime failed to run the model: ") + e.what());
    }
  }

 private:
  struct HeldOutputs {
    std::vector<Ort::Value> values;
    std::vector<std::vector<float>> unpadded;
  };

  // Gives a blocked output its logical shape, dropping the padding channels of the last block.
  static Status Unblock(const BlockedOutput& layout, HeldOutputs& held, OutputView& view) {
    if (view.shape.size() < 2) return Internal("blocked output '" + view.name + "' has no channel axis");
    const int64_t padded = view.shape[1];
    if (padded != layout.channels) {
      const int64_t block = BlockSize();
      if (block <= 0 || padded % block != 0 || padded < layout.channels) {
        return Internal("blocked output '" + view.name + "' has " + std::to_string(padded) + " channels for " +
                        std::to_string(layout.channels));
      }
      int64_t spatial = 1;
      for (size_t d = 2; d < view.shape.size(); ++d) spatial *= view.shape[d];
      held.unpadded.push_back(DropChannelPadding(view.data, view.shape[0], padded, spatial, layout.channels, block));
      view.data = held.unpadded.back();
    }
    view.shape[1] = layout.channels;
    return Status::Ok();
  }

  Ort::Session session_;
  std::map<std::string, BlockedOutput> blocked_;
  std::vector<ValueInfo> inputs_;
  std::vector<ValueInfo> outputs_;
  std::vector<std::string> all_output_names_;
};

}  // namespace

InferenceEnginePreload::InferenceEnginePreload() {
  // The first use of the runtime registers its operators; the probe also creates its first kernels.
  static const auto* loading = new std::shared_future<void>(  // NOLINT(cppcoreguidelines-owning-memory)
      std::async(std::launch::async, [] {
        try {
          (void)Environment();
        } catch (const Ort::Exception&) {
          return;  // reported by the first session
        }
        (void)BlockSize();
      }).share());
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
    so.SetGraphOptimizationLevel(options.optimize_graph ? GraphOptimizationLevel::ORT_ENABLE_ALL
                                                        : GraphOptimizationLevel::ORT_DISABLE_ALL);
    if (FitsInOneProto(model)) {
      std::string bytes;
      if (!model.SerializeToString(&bytes)) return Internal("cannot serialize the model for ONNX Runtime");
      if (!options.unordered_outputs.empty() && options.optimize_graph) {
        auto opened = OpenWithBlockedOutputs(bytes, so, options.unordered_outputs);
        return std::unique_ptr<InferenceSession>(
            std::make_unique<OnnxRuntimeSession>(std::move(opened.session), std::move(opened.blocked)));
      }
      Ort::Session session(Environment(), bytes.data(), bytes.size(), so);
      return std::unique_ptr<InferenceSession>(
          std::make_unique<OnnxRuntimeSession>(std::move(session), std::map<std::string, BlockedOutput>{}));
    }
    // Over 2 GB: stage on disk with external data; the runtime reads it while creating the session,
    // and the folder goes whatever happens.
    ONNXQ_ASSIGN_OR_RETURN(const auto folder, TemporaryFolder::Create("a model over 2 GB"));
    const auto path = folder.path() / "model.onnx";
    ONNXQ_RETURN_IF_ERROR(SaveModel(model, path, {.external_data = ExternalData::kAlways}));
    Ort::Session session(Environment(), path.c_str(), so);
    return std::unique_ptr<InferenceSession>(
        std::make_unique<OnnxRuntimeSession>(std::move(session), std::map<std::string, BlockedOutput>{}));
  } catch (const Ort::Exception& e) {
    return RuntimeError(std::string("ONNX Runtime cannot load the model: ") + e.what());
  }
}

}  // namespace onnxq
