#include "onnxq/status.h"

#include <cstdio>
#include <cstdlib>

namespace onnxq {

std::string Status::ToString() const {
  if (ok()) return "OK";
  return message_;
}

namespace internal {

void DieOnValueOfError(const Status& status) {
  std::fprintf(stderr, "onnxq: internal error: the value of a failed Result was read: %s\n", status.ToString().c_str());
  std::abort();
}

}  // namespace internal

}  // namespace onnxq
