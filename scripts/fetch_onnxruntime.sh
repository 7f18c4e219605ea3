#!/usr/bin/env bash
# Fetches ONNX Runtime 1.30 (shared library + C/C++ headers) from the npm registry into
# .cache/onnxruntime/{include,lib}, the layout of an official release, so CMake can use it as
# ONNXRUNTIME_ROOT. Each tarball's sha512 is checked against the registry's integrity field.
# Idempotent: nothing is downloaded when the cache is complete.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${ONNXQ_ORT_CACHE:-$root/.cache/onnxruntime}"
stamp="$dest/.complete-1.30.0"

RUNTIME_PKG="onnxruntime-node@1.30.0"
RUNTIME_LIB="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
HEADERS_PKG="com.github.asus4.onnxruntime@0.4.9"
HEADERS_DIR="package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64_x86_64-simulator/onnxruntime.framework/Headers"

if [[ -f "$stamp" && -f "$dest/lib/libonnxruntime.so.1" && -f "$dest/include/onnxruntime_cxx_api.h" ]]; then
  echo "onnxruntime: cache is complete at $dest"
  exit 0
fi

command -v npm >/dev/null || { echo "error: npm is needed to fetch ONNX Runtime (or pass -DONNXRUNTIME_ROOT=<release dir>)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Downloads PKG into $work and verifies it; prints the tarball path.
fetch() {
  local pkg="$1"
  local expected tarball actual
  expected="$(npm view "$pkg" dist.integrity)"
  [[ "$expected" == sha512-* ]] || { echo "error: registry gave no sha512 integrity for $pkg" >&2; exit 1; }
  tarball="$(cd "$work" && npm pack --silent "$pkg" | tail -n 1)"
  actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
  if [[ "$actual" != "$expected" ]]; then
    echo "error: $pkg integrity mismatch (expected $expected, got $actual)" >&2
    exit 1
  fi
  echo "$work/$tarball"
}

echo "onnxruntime: fetching $RUNTIME_PKG and $HEADERS_PKG from the npm registry"
runtime_tgz="$(fetch "$RUNTIME_PKG")"
headers_tgz="$(fetch "$HEADERS_PKG")"

staging="$dest.partial"
rm -rf "$staging"
mkdir -p "$staging/include" "$staging/lib" "$work/x"
tar -xzf "$runtime_tgz" -C "$work/x" "$RUNTIME_LIB"
tar -xzf "$headers_tgz" -C "$work/x" --wildcards "$HEADERS_DIR/*.h"
cp "$work/x/$RUNTIME_LIB" "$staging/lib/libonnxruntime.so.1"
ln -sf libonnxruntime.so.1 "$staging/lib/libonnxruntime.so"
cp "$work/x/$HEADERS_DIR"/*.h "$staging/include/"
touch "$staging/.complete-1.30.0"
rm -rf "$dest"
mv "$staging" "$dest"
echo "onnxruntime: ready at $dest"
