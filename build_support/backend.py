"""pip's build backend: scikit-build-core, plus PyPI's CUDA toolchain when the machine lacks one.

Every hook is scikit-build-core's. One is extended: the requirements of a wheel build add the CUDA
13 toolchain from PyPI (nvcc, its headers and runtime, cicc) when the machine has no nvcc of the
CUDA major of the DALI the build compiles against (``DALI_CUDA_MAJOR``, the pin in
pyproject.toml's build requirements) and none was chosen (``CUDACXX``, ``CMAKE_CUDA_COMPILER``).
CMake then takes the compiler in the order of ``cmake/cuda_compiler.cmake``. So a machine with
only a driver (or with nothing: the CPU operators need the CUDA headers too) builds the GPU
operators, and a machine with a toolkit downloads nothing more.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from scikit_build_core.build import *  # noqa: F403 - every hook of scikit-build-core
from scikit_build_core.build import get_requires_for_build_editable as _requires_editable
from scikit_build_core.build import get_requires_for_build_wheel as _requires_wheel

# The CUDA major of the DALI in [build-system] requires (nvidia-dali-cuda120).
DALI_CUDA_MAJOR = "12"
# PyPI's CUDA 13 toolchain: one tree, nvidia/cu13/{bin,include,lib,nvvm}.
CUDA_TOOLCHAIN = [
    "nvidia-cuda-nvcc==13.0.88",
    "nvidia-cuda-crt==13.0.88",
    "nvidia-nvvm==13.0.88",
    "nvidia-cuda-runtime==13.0.96",
    "nvidia-cuda-cccl==13.0.85",
]


def _nvcc_major(nvcc: str) -> str | None:
    try:
        done = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=60)
        text = done.stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"release (\d+)\.", text)
    return match.group(1) if match else None


def _system_nvccs() -> list[str]:
    found = [shutil.which("nvcc")]
    for variable in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(variable):
            found.append(str(Path(os.environ[variable]) / "bin" / "nvcc"))
    found.append("/usr/local/cuda/bin/nvcc")
    return [n for n in dict.fromkeys(found) if n and Path(n).is_file()]


def needs_cuda_toolchain(
    config_settings: dict | None = None, dali_major: str = DALI_CUDA_MAJOR
) -> bool:
    """Whether a build against a DALI of CUDA major `dali_major` needs PyPI's CUDA toolchain.

    No when a compiler was chosen (``CUDACXX``, ``CMAKE_CUDA_COMPILER``) or the system has an
    nvcc of that major (see the module's docstring).
    """
    chosen = os.environ.get("CUDACXX") or "CMAKE_CUDA_COMPILER" in os.environ.get("CMAKE_ARGS", "")
    chosen = chosen or any("CMAKE_CUDA_COMPILER" in str(k) for k in (config_settings or {}))
    if chosen:
        return False
    return not any(_nvcc_major(n) == dali_major for n in _system_nvccs())


def get_requires_for_build_wheel(config_settings: dict | None = None) -> list[str]:
    """scikit-build-core's requirements, and the CUDA toolchain when the machine lacks one."""
    extra = CUDA_TOOLCHAIN if needs_cuda_toolchain(config_settings) else []
    return [*_requires_wheel(config_settings), *extra]


def get_requires_for_build_editable(config_settings: dict | None = None) -> list[str]:
    """As :func:`get_requires_for_build_wheel`, for editable installs."""
    extra = CUDA_TOOLCHAIN if needs_cuda_toolchain(config_settings) else []
    return [*_requires_editable(config_settings), *extra]
