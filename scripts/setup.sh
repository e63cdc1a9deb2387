#!/usr/bin/env bash
# Creates .venv (if missing) and installs dali-saliencymix with its test tools and the CUDA 12
# DALI (the extra [cuda12]; [cuda13] takes the CUDA 13 one, see the README) into it.
# torch is pinned to the CPU build that this project's machines carry (installing an unpinned
# torch can pull a multi-GB CUDA build); on a GPU machine install the torch you need first.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
fi
.venv/bin/python -m pip install --quiet ".[test,cuda12]"
