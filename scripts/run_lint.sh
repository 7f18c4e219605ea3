#!/usr/bin/env bash
# Checks the layout and lints the code; any difference or warning fails the run. Runs after
# scripts/setup.sh, whose build writes build/compile_commands.json; scripts/run_tests.sh calls it after
# ctest.
#   format  clang-format --dry-run -Werror (.clang-format) on every tracked .h and .cc under include/,
#           src/, tools/, python/, tests/, bench/ and fuzz/: 2 s.
#   tidy    clang-tidy (.clang-tidy, and tools/.clang-tidy for the CLI) on the .cc files of src/ and
#           tools/, and of python/ when the build made the Python module (2 files, 20 s more), with
#           the headers of include/onnxq, src/ and tools/ they include, one file per core:
#           Each file costs 2 to 4 s of parsing (onnx.pb.h, CLI11, nlohmann/json) before any check,
#           and every check then matches over all of it, 1 to 2 s a check. To keep CI (build, tests,
#           lint, sanitizers and fuzzers) within 30 minutes, the checks run are bugprone, performance
#           and the modernize / readability checks that find defects (.clang-tidy says which and why;
#           with every style check too, 424 s for 118 files on 2 cores), and tests/, fuzz/ and bench/
#           are left out, which would double the time.
# clang-tidy reads the flags GCC builds with; those it does not know (-Wno-restrict) are ignored.
set -euo pipefail
cd "$(dirname "$0")/.."


pick() { command -v "$1-14" || command -v "$1" || { echo "lint: $1 is missing (scripts/setup.sh installs it)" >&2; exit 1; }; }
clang_format=$(pick clang-format)
clang_tidy=$(pick clang-tidy)
[[ -f build/compile_commands.json ]] || { echo "lint: no build/compile_commands.json: run scripts/setup.sh first" >&2; exit 1; }

# Tracked files matching the pathspecs, NUL-separated.
tracked() { git ls-files -z -- "$@"; }

echo "lint: clang-format"
if ! tracked '*.h' '*.cc' | grep -zE '^(include|src|tools|python|tests|bench|fuzz)/' |
  xargs -0 "$clang_format" --dry-run -Werror; then
  echo "lint: the files above differ from clang-format's layout: $clang_format -i FILE rewrites one" >&2
  exit 1
fi

# clang-tidy reads build/'s compile commands without the precompiled-header flags: GCC's .gch files
# are not clang's, and each source includes what it needs.
tidy_db=build/tidy
mkdir -p "$tidy_db"
python3 - build/compile_commands.json "$tidy_db/compile_commands.json" <<'PY'
import json, re, sys
entries = json.load(open(sys.argv[1]))
for entry in entries:
    entry["command"] = re.sub(r" -Winvalid-pch| (-Xclang )?-include (-Xclang )?\S*cmake_pch\.hxx", "", entry["command"])
json.dump(entries, open(sys.argv[2], "w"))
PY

tidy_paths=('src/*.cc' 'tools/*.cc')
grep -q '/python/module.cc"' build/compile_commands.json && tidy_paths+=('python/*.cc')
echo "lint: clang-tidy on $(tracked "${tidy_paths[@]}" | tr -cd '\0' | wc -c) files, $(nproc) at a time"
# A file's diagnostics are printed at once, so that parallel runs do not interleave them; a clean file
# prints nothing (clang-tidy's count of the warnings it suppressed in system headers goes too). The
# Python module is compiled with -fno-fat-lto-objects (pybind11's), which clang does not know.
tidy_one() {
  local out
  out=$("$clang_tidy" -p build/tidy --quiet --extra-arg=-Wno-unknown-warning-option \
    --extra-arg=-Wno-ignored-optimization-argument "$1" 2>&1) && return 0
  printf '%s\n' "$out"
  return 1
}
export -f tidy_one
export clang_tidy
if ! tracked "${tidy_paths[@]}" | xargs -0 -n1 -P"$(nproc)" bash -c 'tidy_one "$1"' tidy_one; then
  echo "lint: clang-tidy found the problems above" >&2
  exit 1
fi
echo "lint: clean"
