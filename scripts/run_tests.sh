#!/usr/bin/env bash
# Runs every test (C++ under ctest) against the build made by scripts/setup.sh, then each fuzzer for
# ONNXQ_FUZZ_SECONDS (default 20; 0 skips them) on its seed corpus (scripts/run_fuzzers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ctest --test-dir build --output-on-failure -j"$(nproc)"
fuzz_seconds="${ONNXQ_FUZZ_SECONDS:-20}"
if ((fuzz_seconds > 0)); then
  scripts/run_fuzzers.sh "$fuzz_seconds"
fi
