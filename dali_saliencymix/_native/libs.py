"""Locating the compiled libraries of this package and checking what they were built with."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

_PACKAGE_DIR = Path(__file__).resolve().parent.parent

PLUGIN_NAME = "libdali_saliencymix.so"
KERNELS_NAME = "libdsm_kernels.so"
BUILD_INFO_NAME = "_build_info.py"


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


def _build_info_module() -> ModuleType:
    """The ``_build_info.py`` that CMake wrote: the installed one, or a build folder's."""
    override = os.environ.get("DSM_LIB_DIR")
    path = Path(override) / BUILD_INFO_NAME if override else _PACKAGE_DIR / BUILD_INFO_NAME
    if not path.is_file():
        raise ImportError(
            f"dali_saliencymix: {path} is missing: the package is not built; install it with "
            "`pip install .` (or point DSM_LIB_DIR at a CMake build folder)."
        )
    spec = importlib.util.spec_from_file_location("dali_saliencymix._build_info", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_info() -> dict[str, object]:
    """What the compiled libraries were built with: DALI (version, wheel, CUDA) and CUDA.

    ``cuda_compiler_source`` says where the nvcc came from: ``"given"`` (CMAKE_CUDA_COMPILER or
    CUDACXX), ``"system"`` or ``"pypi"`` (the CUDA 13 toolchain from PyPI); ``""`` without CUDA
    kernels. ``cuda_driver_required`` is the oldest NVIDIA driver release their code runs on.
    """
    info = _build_info_module()
    return {
        "version": info.VERSION,
        "dali_version": info.DALI_VERSION,
        "dali_distribution": info.DALI_DISTRIBUTION,
        "dali_cuda_version": info.DALI_CUDA_VERSION,
        "dali_cuda_major": info.DALI_CUDA_MAJOR,
        "cuda_toolkit_version": info.CUDA_TOOLKIT_VERSION,
        "cuda_compiler": getattr(info, "CUDA_COMPILER", ""),
        "cuda_compiler_source": getattr(info, "CUDA_COMPILER_SOURCE", ""),
        "cuda_driver_required": getattr(info, "CUDA_DRIVER_REQUIRED", ""),
        "cuda_architectures": info.CUDA_ARCHITECTURES,
        "with_cuda": info.WITH_CUDA,
        "with_dali_plugin": info.WITH_DALI_PLUGIN,
    }


def check_dali_version(
    installed: str,
    built_against: str,
    *,
    installed_cuda: str = "",
    built_cuda_major: str = "",
    distribution: str = "nvidia-dali-cuda120",
) -> None:
    """Raise ImportError unless the plugin was built against the installed DALI.

    Both the version and the CUDA flavour (the cuda120 and cuda130 wheels, ``__cuda_version__``
    of DALI, e.g. "12986") must match: a plugin only loads into the DALI it was compiled for.
    """
    rebuild = (
        "or rebuild this package against the installed DALI: pip install --force-reinstall "
        "--no-build-isolation --no-deps dali-saliencymix (from its source folder: pip install "
        "--force-reinstall --no-build-isolation --no-deps .)."
    )
    if built_against and installed != built_against:
        raise ImportError(
            f"dali_saliencymix: the DALI plugin was built against nvidia-dali {built_against}, "
            f"but nvidia-dali {installed} is installed. A DALI plugin only loads into the exact "
            f"DALI version it was compiled for. Either install that version "
            f"(pip install {distribution or 'nvidia-dali-cuda120'}=={built_against}), {rebuild}"
        )
    installed_major = installed_cuda[:-3] if len(installed_cuda) > 3 else ""
    if built_cuda_major and installed_major and installed_major != built_cuda_major:
        raise ImportError(
            f"dali_saliencymix: the DALI plugin was built against the CUDA {built_cuda_major} "
            f"DALI ({distribution}), but the installed DALI is built for CUDA {installed_major}. "
            f"Install one DALI only, the one the plugin was built for "
            f"(pip uninstall nvidia-dali-cuda{installed_major}0; pip install "
            f"{distribution}=={built_against or installed}), {rebuild}"
        )
