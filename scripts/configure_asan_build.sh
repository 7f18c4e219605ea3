# Sourced by scripts/run_sanitizers.sh and scripts/run_fuzzers.sh: configures build-asan/, the one
# AddressSanitizer + UndefinedBehaviorSanitizer build where both the unit tests and the fuzzers run.
# With clang (scripts/setup.sh installs clang-14) it also builds the libFuzzer harnesses of fuzz/;
# without clang, GCC builds it for the unit tests alone. At -O1 with line tables, so that reports name
# files and lines, and without -Werror: compilers warn falsely more often with sanitizers (GCC's manual
# advises against combining them); build/ is where warnings fail the build.
#   configure_asan_build      sets asan_fuzzers=ON or OFF
configure_asan_build() {
  local ort_root cxx cc
  ort_root=$(sed -n 's/^ONNXRUNTIME_ROOT:PATH=//p' build/CMakeCache.txt 2>/dev/null || true)
  ort_root="${ort_root:-${ONNXRUNTIME_ROOT:-$PWD/.cache/onnxruntime}}"
  cxx=$(command -v clang++-14 || command -v clang++ || true)
  cc=$(command -v clang-14 || command -v clang || true)
  local compilers=() launcher=()
  asan_fuzzers=OFF
  if [[ -n "$cxx" && -n "$cc" ]]; then
    compilers=(-DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx")
    asan_fuzzers=ON
  fi
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B build-asan "${compilers[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DONNXQ_SANITIZE=address,undefined -DONNXQ_BUILD_FUZZERS="$asan_fuzzers" \
    -DONNXQ_WERROR=OFF -DONNXQ_BUILD_BENCH=OFF -DONNXQ_BUILD_PYTHON=OFF -DONNXQ_PRECOMPILE_HEADERS=ON -DONNXRUNTIME_ROOT="$ort_root" >/dev/null
}
