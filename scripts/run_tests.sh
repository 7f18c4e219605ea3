#!/usr/bin/env bash
# Runs every test against the build made by scripts/setup.sh: the fast unit tests and the accuracy tests
# under ctest, then clang-format and clang-tidy (scripts/run_lint.sh), then the unit tests again under
# sanitizers in builds of their own (scripts/run_sanitizers.sh), then each fuzzer for ONNXQ_FUZZ_SECONDS
# (default 15; 0 skips them) on its seed corpus (scripts/run_fuzzers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ctest --test-dir build --output-on-failure -j"$(nproc)"
scripts/run_lint.sh
scripts/run_sanitizers.sh
fuzz_seconds="${ONNXQ_FUZZ_SECONDS:-15}"
if ((fuzz_seconds > 0)); then
  scripts/run_fuzzers.sh "$fuzz_seconds"
fi
