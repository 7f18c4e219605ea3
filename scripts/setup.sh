#!/usr/bin/env bash
# Makes a fresh Debian 12 machine ready and builds onnxq into build/ (build/onnxq afterwards).
# Installs the Debian packages that are missing, fetches ONNX Runtime 1.30 from the npm registry into
# .cache/ (checked against the registry's sha512; nothing is downloaded when the cache is good), then
# configures and builds. Set ONNXRUNTIME_ROOT to use an official ONNX Runtime release instead.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config ca-certificates openssl lld
  libonnx-dev libprotobuf-dev protobuf-compiler
  libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libjpeg62-turbo-dev libpng-dev libjemalloc-dev zlib1g-dev
  pybind11-dev python3-dev python3-numpy python3-pytest python3-onnx  # the Python module and its tests
  clang-14 libclang-rt-14-dev  # the fuzzers (scripts/run_fuzzers.sh): clang, libFuzzer, ASan, UBSan
  clang-format-14 clang-tidy-14  # scripts/run_lint.sh
  chromium  # the layer report page's test in a headless browser (tests/tools/report_page_test.cc)
)
command -v npm >/dev/null 2>&1 || [[ -n "${ONNXRUNTIME_ROOT:-}" ]] || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

ort_root="${ONNXRUNTIME_ROOT:-}"
if [[ -z "$ort_root" ]]; then
  scripts/fetch_onnxruntime.sh
  ort_root="$PWD/.cache/onnxruntime"
fi

# In CI warnings are errors, and build/ holds only the accuracy and browser tests: scripts/run_tests.sh
# runs the fast suite in build-asan/ alone, so its executables would be compiled here for nothing.
werror=OFF
fast_tests=ON
[[ "${CI:-}" == "true" ]] && werror=ON && fast_tests=OFF
# The Python module is built for Debian's python3, whose numpy and onnx the packages above install.
python_args=()
[[ -x /usr/bin/python3 ]] && python_args=(-DPython3_EXECUTABLE=/usr/bin/python3)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DONNXRUNTIME_ROOT="$ort_root" -DONNXQ_WERROR="$werror" \
  -DONNXQ_FAST_TESTS="$fast_tests" \
  "${python_args[@]}" >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/onnxq and the Python module (PYTHONPATH=build/python python3 -c 'import onnxq'; ${SECONDS} s)"
