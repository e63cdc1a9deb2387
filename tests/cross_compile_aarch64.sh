#!/usr/bin/env bash
# Cross-compiles the CPU kernels and the C API (no CUDA, no DALI) for aarch64 into a shared
# object with the project's flags (C++20, -O2, the exactness flags of CMakeLists.txt), then checks
# that the result is an AArch64 ELF exporting the C API.
#
#   tests/cross_compile_aarch64.sh [OUT_DIR]      (default build/aarch64)
#
# The compiler is $CXX_AARCH64, else the first aarch64-linux-gnu-g++[-N] on the PATH (Debian:
# apt-get install g++-aarch64-linux-gnu). Exit status 77 when there is none (tests skip then).
set -euo pipefail
cd "$(dirname "$0")/.."

CXX=${CXX_AARCH64:-}
if [ -z "$CXX" ]; then
  for candidate in aarch64-linux-gnu-g++ aarch64-linux-gnu-g++-14 aarch64-linux-gnu-g++-13 \
                   aarch64-linux-gnu-g++-12; do
    if command -v "$candidate" > /dev/null; then
      CXX=$candidate
      break
    fi
  done
fi
if [ -z "$CXX" ]; then
  echo "no aarch64 cross-compiler found (apt-get install g++-aarch64-linux-gnu)" >&2
  exit 77
fi
READELF=${READELF_AARCH64:-$(command -v aarch64-linux-gnu-readelf || command -v readelf)}

OUT=${1:-build/aarch64}
mkdir -p "$OUT"
# The exactness flags of CMakeLists.txt (DSM_CXX_FLAGS) with -O2: no FMA contraction (GCC's
# default on aarch64 is -ffp-contract=fast), no fast-math.
FLAGS=(-std=c++20 -O2 -ffp-contract=off -fno-fast-math -fPIC -Wall -Wextra
       -DDSM_WITH_CUDA=0 '-DDSM_VERSION="aarch64-cross"')
echo "compiler: $("$CXX" --version | head -n 1)"
objects=()
for source in plugin_src/saliency/*.cc plugin_src/mix/*.cc plugin_src/c_api/dsm_c_api.cc; do
  object="$OUT/$(basename "${source%.cc}").o"
  echo "  $CXX ${FLAGS[*]} -c $source"
  "$CXX" "${FLAGS[@]}" -c "$source" -o "$object"
  objects+=("$object")
done
"$CXX" -shared -o "$OUT/libdsm_kernels.so" "${objects[@]}"

if command -v file > /dev/null; then
  file "$OUT/libdsm_kernels.so"
fi
machine=$("$READELF" -h "$OUT/libdsm_kernels.so" | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')
echo "readelf machine: $machine"
if [ "$machine" != "AArch64" ]; then
  echo "expected an AArch64 shared object, got '$machine'" >&2
  exit 1
fi
symbols=$("$READELF" --dyn-syms -W "$OUT/libdsm_kernels.so")
for name in dsm_version dsm_last_error dsm_cuda_toolkit_version dsm_saliency_cpu \
            dsm_mix_cpu dsm_saliency_cuda dsm_mix_cuda; do
  if ! grep -qw "$name" <<< "$symbols"; then
    echo "the C API function $name is not exported" >&2
    exit 1
  fi
done
echo "OK: $OUT/libdsm_kernels.so is an AArch64 shared object exporting the C API"
