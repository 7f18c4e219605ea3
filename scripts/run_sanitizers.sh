#!/usr/bin/env bash
# Builds onnxq with sanitizers beside build/ and runs unit tests under them; the first report fails the
# run. scripts/run_tests.sh calls it after the whole suite, with the ONNX Runtime build/ uses.
#   build-asan/  AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer: the library, the CLI,
#                every test labelled fast (the only run of the fast suite in scripts/run_tests.sh; the
#                accuracy tests are left out: ONNX Runtime does the bulk of their work, uninstrumented,
#                and they would take minutes more; so is the browser test, which checks chromium's
#                rendering of a page, not onnxq's memory) and, with clang, the fuzzers
#                (scripts/run_fuzzers.sh runs them). See scripts/configure_asan_build.sh. Each test
#                executable is one ctest test there, its fast tests in one process (tests/CMakeLists.txt).
#   build-tsan/  ThreadSanitizer: the worker loop, calibration's workers, observers and background
#                load, and bias correction's workers, on the fake backend (tests/testing/fake_backend.h):
#                no ONNX Runtime in the process, whose uninstrumented threads TSan cannot follow
# Both compile with precompiled headers (ONNXQ_PRECOMPILE_HEADERS, cmake/precompile_headers.cmake): 37 %
# less compile time over a sample of 14 sources (81 s -> 51 s of CPU).
# Reports from the uninstrumented libraries are suppressed in scripts/sanitizer_suppressions/, one
# comment per entry; none from onnxq.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/configure_asan_build.sh

jobs="$(nproc)"
suppressions="$PWD/scripts/sanitizer_suppressions"

echo "sanitizers: address,undefined"
configure_asan_build
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1" \
  LSAN_OPTIONS="suppressions=$suppressions/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L fast -LE browser --no-tests=error
echo "sanitizers: address,undefined passed (${SECONDS} s so far)"

# ThreadSanitizer with GCC: only the three test executables, which link no ONNX Runtime.
echo "sanitizers: thread"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DONNXQ_SANITIZE=thread -DONNXQ_WERROR=OFF -DONNXQ_BUILD_BENCH=OFF -DONNXQ_BUILD_PYTHON=OFF \
  -DONNXQ_PRECOMPILE_HEADERS=ON \
  -DONNXRUNTIME_ROOT="$(sed -n 's/^ONNXRUNTIME_ROOT:PATH=//p' build-asan/CMakeCache.txt)" >/dev/null
cmake --build build-tsan -j"$jobs" --target parallel_batches_test collect_statistics_threads_test correct_bias_threads_test \
  thread_start_failure_test
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$suppressions/tsan.supp" \
  ctest --test-dir build-tsan --output-on-failure -j"$jobs" --no-tests=error \
  -R '^(parallel_batches_test|collect_statistics_threads_test|correct_bias_threads_test|thread_start_failure_test)$'
echo "sanitizers: thread passed (${SECONDS} s in all)"
