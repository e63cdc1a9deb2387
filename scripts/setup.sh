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
say() { echo "setup.sh: $*" >&2; }
step() {  # step WHAT COMMAND...: say what is being done; if it fails, say which step it was
  local what=$1
  shift
  say "$what"
  "$@" || {
    say "failed: $what (its message is above)"
    [ -n "${building:-}" ] && kill "$building" 2>/dev/null
    exit 1
  }
}
if [ ! -x .venv/bin/python ]; then
  step "creating .venv with $PYTHON" "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip)
step "upgrading pip" "${pip[@]}" install --quiet --upgrade pip
built=$(mktemp -d)
trap 'rm -rf "$built"' EXIT
say "building dali-saliencymix in the background (C++ and CUDA: about a minute and a half)"
"${pip[@]}" wheel --quiet --no-deps --wheel-dir "$built" . > "$built/build.log" 2>&1 &
building=$!
if ! .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
  step "installing torch 2.14.1 and torchvision 0.29.1 (a download of several GB where they are not on disk)" \
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
  step "installing DALI (CUDA 12 build), OpenCV, timm and the test tools" \
    "${pip[@]}" install --quiet "${requirements[@]}"
fi
say "waiting for the build of dali-saliencymix"
if ! wait "$building"; then
  cat "$built/build.log" >&2
  say "failed: building dali-saliencymix (its log is above)"
  exit 1
fi
"${pip[@]}" uninstall --quiet --yes dali-saliencymix > /dev/null 2>&1 || true
wheel=$(ls "$built"/*.whl)
step "installing dali-saliencymix" "${pip[@]}" install --quiet "$wheel[test,cuda12]"
say "ready: .venv (.venv/bin/dali-saliencymix demo, .venv/bin/pytest -q)"
