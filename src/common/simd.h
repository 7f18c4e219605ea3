// Function multiversioning for the hot loops written with GCC vector extensions: a function marked
// ONNXQ_FOR_EACH_X86_LEVEL is compiled for AVX-512, AVX2 and baseline x86-64, and the loader picks the
// best the machine runs. 64-byte lanes then fill one AVX-512 register, two AVX2 or four SSE ones.
// Elsewhere (other compilers or architectures) it compiles once, for the baseline. So it does under
// ThreadSanitizer: GCC instruments the resolver that picks the version, and the loader runs resolvers
// before the sanitizer's runtime has started (the process crashes before main).
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define ONNXQ_FOR_EACH_X86_LEVEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ONNXQ_FOR_EACH_X86_LEVEL
#endif

// Hand-written AVX-512 paths (intrinsics in functions marked [[gnu::target("avx512f")]]) exist where
// the compiler can build them; CpuHasAvx512() says whether this machine may run them.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ONNXQ_HAS_AVX512_PATH 1
namespace onnxq {
inline bool CpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") != 0;
  return has;
}
}  // namespace onnxq
#endif
