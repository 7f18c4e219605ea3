#include "calibration/inference_backend.h"

#include <system_error>

namespace onnxq {

std::shared_future<void> LoadInBackground(const InferenceBackend& backend) {
  try {
    return std::async(std::launch::async, [&backend] { backend.Load(); }).share();
  } catch (const std::system_error&) {
    backend.Load();  // no thread to be had
    std::promise<void> loaded;
    loaded.set_value();
    return loaded.get_future().share();
  }
}

}  // namespace onnxq
