#!/usr/bin/env bash
# Runs every test (C++ under ctest) against the build made by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ctest --test-dir build --output-on-failure -j"$(nproc)"
