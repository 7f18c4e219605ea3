#include <onnxruntime_cxx_api.h>

#include <unistd.h>

#include <filesystem>
#include <unordered_map>

#include "calibration/inference_backend.h"
#include "onnxq/model_io.h"

namespace onnxq {
namespace {

Ort::Env& Environment() {
  static Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "onnxq");
  return env;
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

class OnnxRuntimeSession final : public InferenceSession {
 public:
  explicit OnnxRuntimeSession(Ort::Session session) : session_(std::move(session)) {
    Ort::AllocatorWithDefaultOptions allocator;
    for (size_t i = 0; i < session_.GetInputCount(); ++i) {
      const std::string name = session_.GetInputNameAllocated(i, allocator).get();
      inputs_.push_back(Describe(name, session_.GetInputTypeInfo(i)));
    }
    for (size_t i = 0; i < session_.GetOutputCount(); ++i) {
      const std::string name = session_.GetOutputNameAllocated(i, allocator).get();
      outputs_.push_back(Describe(name, session_.GetOutputTypeInfo(i)));
      all_output_names_.push_back(name);
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
      names.reserve(output_names.size());
      for (const auto& n : output_names) names.push_back(n.c_str());
      auto values = std::make_shared<std::vector<Ort::Value>>(session_.Run(
          Ort::RunOptions{nullptr}, input_names.data(), inputs.data(), inputs.size(), names.data(), names.size()));
      std::vector<OutputView> views;
      views.reserve(values->size());
      for (size_t i = 0; i < values->size(); ++i) {
        OutputView view;
        view.name = output_names[i];
        Ort::Value& value = (*values)[i];
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
      return RunOutputs(std::move(views), std::move(values));
    } catch (const Ort::Exception& e) {
      return RuntimeError(std::string("ONNX Runtime failed to run the model: ") + e.what());
    }
  }

 private:
  Ort::Session session_;
  std::vector<ValueInfo> inputs_;
  std::vector<ValueInfo> outputs_;
  std::vector<std::string> all_output_names_;
};

}  // namespace

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
      Ort::Session session(Environment(), bytes.data(), bytes.size(), so);
      return std::unique_ptr<InferenceSession>(std::make_unique<OnnxRuntimeSession>(std::move(session)));
    }
    // Over 2 GB: stage on disk with external data; the runtime reads it while creating the session,
    // and the folder goes whatever happens.
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path dir = fs::temp_directory_path(ec) / ("onnxq-" + std::to_string(::getpid()));
    fs::create_directories(dir, ec);
    if (ec) return IoError("cannot create a staging folder for a model over 2 GB: " + ec.message());
    struct RemoveOnExit {
      fs::path dir;
      ~RemoveOnExit() {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
      }
    } cleanup{dir};
    const fs::path path = dir / "model.onnx";
    ONNXQ_RETURN_IF_ERROR(SaveModel(model, path, {.external_data = ExternalData::kAlways}));
    Ort::Session session(Environment(), path.c_str(), so);
    return std::unique_ptr<InferenceSession>(std::make_unique<OnnxRuntimeSession>(std::move(session)));
  } catch (const Ort::Exception& e) {
    return RuntimeError(std::string("ONNX Runtime cannot load the model: ") + e.what());
  }
}

}  // namespace onnxq
