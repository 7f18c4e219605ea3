#include "onnxq/status.h"

namespace onnxq {

std::string Status::ToString() const {
  if (ok()) return "OK";
  return message_;
}

}  // namespace onnxq
