#!/usr/bin/env bash
# Creates .venv (if missing) and installs into it: torch with its torchvision, then this package
# with the CUDA 12 DALI (extra [cuda12]; [cuda13] takes the CUDA 13 one, see the README) and its
# test tools (extra [test]: OpenCV contrib as the reference, timm, pytest, ruff, matplotlib).
# torch and torchvision go in as a pair of one release: PyPI's torchvision only imports beside the
# torch it was built with (timm and the trainer's default model need it). This project's machines
# carry torch 2.14.1 and torchvision 0.29.1 on disk; elsewhere pip downloads them (a CUDA build
# of several GB: install the torch you need first, setup keeps a torch and torchvision that
# import together).
# The package is built (in pip's isolated build environment, with PyPI's CUDA compiler where no
# nvcc of DALI's CUDA major is installed) while the environment is installed, then installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip)
"${pip[@]}" install --quiet --upgrade pip
built=$(mktemp -d)
trap 'rm -rf "$built"' EXIT
"${pip[@]}" wheel --quiet --no-deps --wheel-dir "$built" . > "$built/build.log" 2>&1 &
building=$!
if ! .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
  "${pip[@]}" install --quiet "torch==2.14.1" "torchvision==0.29.1"
fi
# The package's requirements (pyproject.toml: dependencies, [cuda12], [test]) while it builds.
# (tomllib: Python 3.11+; on 3.10 the last step installs them instead.)
requirements=$(.venv/bin/python -c "
import tomllib
project = tomllib.load(open('pyproject.toml', 'rb'))['project']
extras = project['optional-dependencies']
print('\n'.join(project['dependencies'] + extras['cuda12'] + extras['test']))" 2>/dev/null) ||
  requirements=""
if [ -n "$requirements" ]; then
  mapfile -t requirements <<< "$requirements"
  "${pip[@]}" install --quiet "${requirements[@]}"
fi
if ! wait "$building"; then
  cat "$built/build.log" >&2
  echo "setup.sh: building dali-saliencymix failed (its log is above)" >&2
  exit 1
fi
"${pip[@]}" uninstall --quiet --yes dali-saliencymix > /dev/null 2>&1 || true
wheel=$(ls "$built"/*.whl)
"${pip[@]}" install --quiet "$wheel[test,cuda12]"
