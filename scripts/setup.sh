#!/usr/bin/env bash
# Creates .venv (if missing) and installs into it: torch with its torchvision, then this package
# with the CUDA 12 DALI (extra [cuda12]; [cuda13] takes the CUDA 13 one, see the README) and its
# test tools (extra [test]: OpenCV contrib as the reference, timm, pytest, ruff, matplotlib).
# torch and torchvision go in as a pair of one release: PyPI's torchvision only imports beside the
# torch it was built with (timm and the trainer's default model need it). This project's machines
# carry torch 2.14.1 and torchvision 0.29.1 on disk; elsewhere pip downloads them (a CUDA build
# of several GB: install the torch you need first, setup keeps a torch and torchvision that
# import together).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if ! .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
fi
.venv/bin/python -m pip install --quiet ".[test,cuda12]"
