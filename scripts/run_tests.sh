#!/usr/bin/env bash
# Runs every test (C++ under ctest: the fast unit tests and the accuracy tests) against the build made
# by scripts/setup.sh, then the unit tests again under sanitizers, in builds of their own
# (scripts/run_sanitizers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ctest --test-dir build --output-on-failure -j"$(nproc)"
scripts/run_sanitizers.sh
