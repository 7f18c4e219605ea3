#include "common/fresh_memory.h"

#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace onnxq {
namespace {

// Asks for 2 MiB pages over the whole pages of [data, data + size) and maps them all now. Failures
// are harmless (an old kernel, no transparent huge pages): the pages then fault in one by one.
void MapInBulk(char* data, size_t size) {
#if defined(__linux__) && defined(MADV_HUGEPAGE) && defined(MADV_POPULATE_WRITE)
  constexpr uintptr_t kPage = 4096;
  const auto first = reinterpret_cast<uintptr_t>(data);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  const uintptr_t begin = (first + kPage - 1) & ~(kPage - 1);
  const uintptr_t end = (first + size) & ~(kPage - 1);
  if (end <= begin) return;
  void* const start =
      reinterpret_cast<void*>(begin);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast,performance-no-int-to-ptr)
  (void)::madvise(start, end - begin, MADV_HUGEPAGE);
  (void)::madvise(start, end - begin, MADV_POPULATE_WRITE);
#else
  (void)data;
  (void)size;
#endif
}

}  // namespace

void ResizeOnFreshMemory(std::string* bytes, size_t size) {
  if (bytes->empty() && size >= kFreshMemoryBytes) {
    bytes->reserve(size);  // allocated, not yet touched
    MapInBulk(bytes->data(), size);
  }
  bytes->resize(size);
}

}  // namespace onnxq
