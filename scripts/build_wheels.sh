#!/usr/bin/env bash
# Prebuilt wheels, one per DALI flavour: scripts/build_wheels.sh [cuda12|cuda13] (both without an
# argument) writes dist/dali_saliencymix_cuda120-V-py3-none-manylinux_2_28_x86_64.whl (and
# _cuda130). Each is built in a fresh virtual environment holding its DALI (the plugin is compiled
# against it), with the CUDA compiler chosen as for any build (cmake/cuda_compiler.cmake: a
# system nvcc of DALI's CUDA major, else PyPI's CUDA 13 toolchain, which is installed there when
# needed), then renamed, retagged and pinned to its DALI by build_support/flavour_wheel.py, which
# refuses a wheel without both libraries, without the full architecture list, or needing more
# than manylinux_2_28 has. PYTHON: the interpreter of the build environments (default python3);
# DIST: the output folder (default dist).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
FLAVOURS=${1:-"cuda12 cuda13"}
DIST=${DIST:-dist}
for flavour in $FLAVOURS; do
  case "$flavour" in
    cuda12) dali=nvidia-dali-cuda120 major=12 ;;
    cuda13) dali=nvidia-dali-cuda130 major=13 ;;
    *) echo "build_wheels.sh: the flavour must be cuda12 or cuda13, got '$flavour'" >&2; exit 2 ;;
  esac
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "$PYTHON" -m venv "$work/venv"
  pip=("$work/venv/bin/python" -m pip install --quiet)
  "${pip[@]}" --upgrade pip
  "${pip[@]}" "scikit-build-core>=1.1" cmake ninja "$dali==2.4.0"
  toolchain=$("$work/venv/bin/python" -c "
import sys; sys.path.insert(0, 'build_support')
import backend
print(' '.join(backend.CUDA_TOOLCHAIN if backend.needs_cuda_toolchain(dali_major='$major') else []))")
  if [ -n "$toolchain" ]; then
    "${pip[@]}" $toolchain
  fi
  compiler="the system's nvcc"
  [ -n "$toolchain" ] && compiler="the CUDA toolchain from PyPI"
  echo "build_wheels.sh: building the $flavour wheel against $dali with $compiler"
  "$work/venv/bin/python" -m pip wheel --quiet --no-build-isolation --no-deps \
    --config-settings=build-dir="$work/build" --wheel-dir "$work/built" .
  "$work/venv/bin/python" build_support/flavour_wheel.py "$work"/built/*.whl "$flavour" "$DIST"
  rm -rf "$work"
  trap - EXIT
done
