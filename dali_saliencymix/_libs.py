"""Locating the compiled libraries of this package and checking what they were built with."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent

PLUGIN_NAME = "libdali_saliencymix.so"
KERNELS_NAME = "libdsm_kernels.so"


def library_dir() -> Path:
    """Folder holding the plugin and the kernels library (``DSM_LIB_DIR`` overrides it)."""
    override = os.environ.get("DSM_LIB_DIR")
    return Path(override) if override else _PACKAGE_DIR / "lib"


def library_path(name: str) -> Path:
    """Path of one compiled library, with a clear error when the package was not built."""
    path = library_dir() / name
    if not path.exists():
        raise ImportError(
            f"dali_saliencymix: {path} is missing. The package is not built: install it with "
            "`pip install .` from the repository (running from a source checkout does not build "
            "the C++/CUDA libraries), or point DSM_LIB_DIR at a CMake build folder."
        )
    return path


def build_info() -> dict[str, object]:
    """What the compiled libraries were built with: versions of DALI and of the CUDA toolkit."""
    try:
        from dali_saliencymix import _build_info as info
    except ImportError:
        if os.environ.get("DSM_LIB_DIR"):
            return {
                "version": "dev",
                "dali_version": "",
                "cuda_toolkit_version": "",
                "with_cuda": True,
                "with_dali_plugin": True,
            }
        raise ImportError(
            "dali_saliencymix: _build_info.py is missing: the package is not built; install it "
            "with `pip install .`."
        ) from None
    return {
        "version": info.VERSION,
        "dali_version": info.DALI_VERSION,
        "cuda_toolkit_version": info.CUDA_TOOLKIT_VERSION,
        "with_cuda": info.WITH_CUDA,
        "with_dali_plugin": info.WITH_DALI_PLUGIN,
    }


def check_dali_version(installed: str, built_against: str) -> None:
    """Raise ImportError unless the plugin was built against the installed DALI version."""
    if built_against and installed != built_against:
        raise ImportError(
            f"dali_saliencymix: the DALI plugin was built against nvidia-dali {built_against}, "
            f"but nvidia-dali {installed} is installed. A DALI plugin only loads into the exact "
            f"DALI version it was compiled for. Either install that version "
            f"(pip install nvidia-dali-cuda120=={built_against}), or rebuild this package "
            f"against the installed DALI: pip install --force-reinstall --no-build-isolation "
            f"--no-deps dali-saliencymix (from its source folder: pip install --force-reinstall "
            f"--no-build-isolation --no-deps .)."
        )
