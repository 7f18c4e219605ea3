// Large buffers on fresh memory, mapped in bulk. Each 4 KiB page a process touches for the first time
// is a page fault; on a virtual machine one costs tens of microseconds (about 20 us on the benchmark
// machine of bench/RESULTS.md, so 2.3 GB of weights cost 10 s in faults alone). Asking the kernel for
// 2 MiB pages and to map the whole range in one call makes the same memory about 30x cheaper there,
// and costs nothing where faults are cheap. Linux only; elsewhere (or on kernels without
// MADV_POPULATE_WRITE, before 5.14) the buffer is simply resized.
#pragma once

#include <cstddef>
#include <string>

namespace onnxq {

// Buffers of at least this many bytes are mapped in bulk.
inline constexpr size_t kFreshMemoryBytes = size_t{4} << 20;

// Resizes the empty `bytes` to `size` zero bytes (as resize does), its memory mapped in bulk when
// `size` is at least kFreshMemoryBytes.
void ResizeOnFreshMemory(std::string* bytes, size_t size);

}  // namespace onnxq
