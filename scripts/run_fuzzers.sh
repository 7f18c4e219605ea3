#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ in build-asan/ (clang, AddressSanitizer and
# UndefinedBehaviorSanitizer: scripts/configure_asan_build.sh) and runs each for SECONDS (default 60) on
# a scratch copy of its seed corpus fuzz/corpus/<harness>/, so the repository's corpus does not grow. Fails on any crash, leak,
# timeout, out-of-memory or sanitizer report, keeping the input in build-asan/fuzz-findings/ and the log
# in build-asan/fuzz-logs/. Prints the executions per harness.
#
#   scripts/run_fuzzers.sh [SECONDS] [HARNESS...]     e.g. scripts/run_fuzzers.sh 600 read_npy_fuzzer
#
# JOBS sets the build's parallel jobs (default: the core count). RUNS, when set, also stops each harness
# after that many executions (whichever comes first). ONNXRUNTIME_ROOT as for scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift $(($# > 0 ? 1 : 0))
all=(load_model_fuzzer read_npy_fuzzer read_npz_fuzzer load_calibration_table_fuzzer parse_command_line_fuzzer)
harnesses=("${@:-${all[@]}}")
# The longest input each harness is given: the seeds fit, and larger inputs add nothing but time.
declare -A max_len=([load_model_fuzzer]=8192 [read_npy_fuzzer]=2048 [read_npz_fuzzer]=8192
                    [load_calibration_table_fuzzer]=20000 [parse_command_line_fuzzer]=1024)

source scripts/configure_asan_build.sh
configure_asan_build
[[ "$asan_fuzzers" == ON ]] || { echo "run_fuzzers: clang is needed (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }
cmake --build build-asan --target "${harnesses[@]}" -j"${JOBS:-$(nproc)}"

mkdir -p build-asan/fuzz-findings build-asan/fuzz-logs
scratch=$(mktemp -d "${TMPDIR:-/tmp}/onnxq-fuzz-run.XXXXXX")
# The readers' harnesses write their input to a file each run: in memory when /dev/shm allows.
files_dir="$scratch"
[[ -d /dev/shm && -w /dev/shm ]] && files_dir=$(mktemp -d /dev/shm/onnxq-fuzz-files.XXXXXX)
trap 'rm -rf "$scratch" "$files_dir"' EXIT
failed=0
printf '%-30s %8s %12s %9s %14s  %s\n' harness seconds executions exec/s corpus result
for h in "${harnesses[@]}"; do
  [[ -n "${max_len[$h]:-}" ]] || { echo "run_fuzzers: unknown harness '$h' (${all[*]})" >&2; exit 1; }
  corpus="$scratch/$h/corpus"
  mkdir -p "$corpus" "$files_dir/$h"
  cp fuzz/corpus/"$h"/* "$corpus"/
  options=(-max_total_time="$seconds" -max_len="${max_len[$h]}" -rss_limit_mb=2048 -timeout=10
           -print_final_stats=1 -close_fd_mask=3 -artifact_prefix="build-asan/fuzz-findings/$h-")
  [[ -f "fuzz/$h.dict" ]] && options+=(-dict="fuzz/$h.dict")
  [[ -n "${RUNS:-}" ]] && options+=(-runs="$RUNS")
  log="build-asan/fuzz-logs/$h.log"
  rc=0
  start=$SECONDS
  TMPDIR="$files_dir/$h" ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=32 UBSAN_OPTIONS=print_stacktrace=1 \
    "build-asan/fuzz/$h" "${options[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  time_s=$((SECONDS - start))
  runs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log" | tail -1)
  files=$(find "$corpus" -type f | wc -l)
  bytes=$(du -sb "$corpus" | cut -f1)
  result=ok
  if ((rc != 0)) || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log"; then
    result="FAILED (rc $rc, see $log)"
    failed=1
  fi
  printf '%-30s %8s %12s %9s %14s  %s\n' "$h" "$time_s" "${runs:-?}" "$((${runs:-0} / (time_s > 0 ? time_s : 1)))" \
    "$files/$((bytes / 1024))K" "$result"
done
exit "$failed"
