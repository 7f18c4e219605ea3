#!/usr/bin/env bash
# Runs every test against the build made by scripts/setup.sh: the accuracy tests and the browser test under
# ctest, the Python module's tests (tests/python, pytest, with the interpreter the build was made
# for), then clang-format and clang-tidy (scripts/run_lint.sh), then the fast unit tests under
# sanitizers in builds of their own (scripts/run_sanitizers.sh), then each fuzzer for ONNXQ_FUZZ_SECONDS
# (default 6; 0 skips them) on its seed corpus (scripts/run_fuzzers.sh). Each stage prints the seconds
# the run has taken so far, to keep CI's whole run (setup included) within 30 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
# The fast unit tests run once, under AddressSanitizer and UndefinedBehaviorSanitizer (scripts/run_sanitizers.sh,
# below); here the rest: the accuracy tests, whose bulk is ONNX Runtime's work, and the browser test.
ctest --test-dir build --output-on-failure -j"$(nproc)" -LE '^fast$' --no-tests=error
ctest --test-dir build --output-on-failure -j"$(nproc)" -L browser --no-tests=error
echo "tests: ctest passed (${SECONDS} s)"
if [[ -f build/python/onnxq/__init__.py ]]; then
  python=$(sed -n 's/^Python3_EXECUTABLE:[A-Z]*=//p' build/CMakeCache.txt)
  PYTHONPATH=build/python "${python:-python3}" -m pytest -q -p no:cacheprovider tests/python
fi
echo "tests: pytest done (${SECONDS} s)"
scripts/run_lint.sh
echo "tests: lint passed (${SECONDS} s)"
scripts/run_sanitizers.sh
echo "tests: sanitizers passed (${SECONDS} s)"
fuzz_seconds="${ONNXQ_FUZZ_SECONDS:-6}"
if ((fuzz_seconds > 0)); then
  scripts/run_fuzzers.sh "$fuzz_seconds"
fi
