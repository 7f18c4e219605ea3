// The inference engine seen by calibration, bias correction, the output check and evaluation. They
// receive an InferenceBackend and never name an engine: the pipeline hands them ONNX Runtime's
// (onnxruntime_backend.h, the only file that includes the runtime's headers), tests a fake one
// (tests/testing/fake_backend.h). So calibration builds and tests without the runtime.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <future>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "onnxq/status.h"
#include "onnxq/tensor.h"

namespace onnxq {

struct ValueInfo {
  std::string name;
  ElementType type = ElementType::kFloat;
  bool type_supported = true;  // false for element types onnxq does not feed (strings, float16 ...)
  std::vector<int64_t> shape;  // -1 for symbolic or unknown dimensions
};

// One output of a run, viewed in place in the engine's buffer (no copy).
struct OutputView {
  std::string name;
  bool is_float = false;
  std::vector<int64_t> shape;
  std::span<const float> data;  // empty unless is_float
};

// Outputs of one run; the views stay valid while this object lives.
class RunOutputs {
 public:
  RunOutputs() = default;
  RunOutputs(std::vector<OutputView> views, std::shared_ptr<void> owner)
      : views_(std::move(views)), owner_(std::move(owner)) {}
  const std::vector<OutputView>& views() const { return views_; }
  const OutputView& operator[](size_t i) const { return views_[i]; }
  size_t size() const { return views_.size(); }
  const std::shared_ptr<void>& owner() const { return owner_; }

 private:
  std::vector<OutputView> views_;
  std::shared_ptr<void> owner_;
};

// How an observed tensor's values are laid out: `shape` is the tensor's (its real channel count on
// axis 1); with `block` > 0 they are in the engine's channel-blocked layout [N, ceil(C/block),
// spatial..., block], the last block holding only its real lanes (observe_tensors.h), else in the
// order of `shape`.
struct ObservedLayout {
  std::span<const int64_t> shape;
  int64_t block = 0;
};

// Receives the tensors a run observes (SessionOptions::observed), each as soon as the engine has
// computed it, on the thread that called RunObserved.
class TensorObserver {
 public:
  virtual ~TensorObserver() = default;
  // `index` is the tensor's position in SessionOptions::observed. `values` holds the run's values of
  // it, sample after sample, each sample's values complete, laid out as `layout` says; both are
  // valid only during the call.
  virtual void Observe(size_t index, std::span<const float> values, const ObservedLayout& layout) = 0;
};

struct SessionOptions {
  int intra_op_threads = 0;  // 0: the engine's default (all cores)
  bool optimize_graph = true;
  bool allow_spinning = true;  // false when other threads work between runs (calibration)
  // The engine plans one block for all of a run's tensors from the first run's shapes. Large runs
  // peak lower without it (IS-Net at 1024x1024: 2.2 GB with it, 1.3 GB without).
  bool memory_pattern = true;
  // Tensors that are only summarized (calibration statistics), handed to RunObserved's observer. Float
  // tensors only; others are skipped.
  std::vector<std::string> observed;
};

class InferenceSession {
 public:
  virtual ~InferenceSession() = default;
  virtual const std::vector<ValueInfo>& inputs() const = 0;
  virtual const std::vector<ValueInfo>& outputs() const = 0;
  // Runs the model; `output_names` empty means every graph output.
  virtual Result<RunOutputs> Run(const Feeds& feeds, std::span<const std::string> output_names) = 0;
  // Runs the model and hands each observed float tensor to `observer`.
  Status RunObserved(const Feeds& feeds, TensorObserver& observer) { return RunObserved(feeds, observer, {}).status(); }
  // The same, also returning the graph outputs named in `output_names` (none: no outputs, and no run
  // when nothing is observed).
  virtual Result<RunOutputs> RunObserved(const Feeds& feeds, TensorObserver& observer,
                                         std::span<const std::string> output_names) = 0;
};

// Builds the sessions of one inference engine. Both methods may be called from any thread, at once;
// a session may be run from several threads at once.
class InferenceBackend {
 public:
  virtual ~InferenceBackend() = default;
  // The engine's one-time start (registering its kernels, probing the machine), which the first
  // session otherwise pays for. Calls after the first return once it has ended.
  virtual void Load() const {}
  // Engine errors become Status values.
  virtual Result<std::unique_ptr<InferenceSession>> CreateSession(const onnx::ModelProto& model,
                                                                  const SessionOptions& options) const = 0;
  // The model as the engine rewrites it before running it (its fusions, its own ops and domains), for
  // reports of what the engine will run: its graph, whose large initializers may come without their
  // values (name, type and dims only). Unsupported where the engine cannot say.
  virtual Result<onnx::ModelProto> OptimizedModel(const onnx::ModelProto& /*model*/) const {
    return Unsupported("this inference engine does not write its optimized model");
  }
};

// Calls backend.Load() on a thread of its own and returns at once; the future is ready when loading
// has ended. Where no thread can be started, loads on the calling thread instead.
std::shared_future<void> LoadInBackground(const InferenceBackend& backend);

}  // namespace onnxq
