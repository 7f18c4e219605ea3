#include "io/serialize_model.h"

#include <cstdint>
#include <limits>

#include "common/fresh_memory.h"

namespace onnxq {

bool SerializeOnFreshMemory(const onnx::ModelProto& model, std::string* bytes) {
  const size_t size = model.ByteSizeLong();  // also caches the sizes SerializeWithCachedSizes reads
  if (size > static_cast<size_t>(std::numeric_limits<int32_t>::max())) return false;
  ResizeOnFreshMemory(bytes, size);
  auto* const data = reinterpret_cast<uint8_t*>(bytes->data());  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  return model.SerializeWithCachedSizesToArray(data) == data + size;
}

}  // namespace onnxq
