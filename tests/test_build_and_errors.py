"""What the package was built with, its load-time checks, and the C API's input checks."""

from __future__ import annotations

import importlib
import importlib.util
import os
from types import ModuleType

import numpy as np
import nvidia.dali as dali
import pytest

import dali_saliencymix
from dali_saliencymix import saliency_map
from dali_saliencymix._native import c_api
from dali_saliencymix._native import libs as _libs


def recorded_build_info() -> ModuleType:
    """The _build_info.py of the libraries in use: the installed module, or the one CMake wrote
    next to the libraries of a development build (DSM_LIB_DIR)."""
    path = _libs.library_dir() / "_build_info.py"
    if os.environ.get("DSM_LIB_DIR") and path.exists():
        spec = importlib.util.spec_from_file_location("_dsm_dev_build_info", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return importlib.import_module("dali_saliencymix._build_info")


def test_build_records_dali_and_cuda_versions() -> None:
    info = recorded_build_info()
    assert info.DALI_VERSION == dali.__version__
    # DALI's CUDA: __cuda_version__ joins the digits (12986 for 12.9.86); the major is the first
    # two, as DALI reads it, and the wheel's name says it too (nvidia-dali-cuda120).
    assert info.DALI_CUDA_VERSION == str(dali.__cuda_version__)
    assert info.DALI_CUDA_MAJOR == str(int(str(dali.__cuda_version__)[:2]))
    assert info.DALI_DISTRIBUTION == f"nvidia-dali-cuda{info.DALI_CUDA_MAJOR}0"
    if info.WITH_CUDA:
        major, minor = (int(v) for v in info.CUDA_TOOLKIT_VERSION.split(".")[:2])
        assert c_api.cuda_toolkit_version() == major * 1000 + minor * 10
        assert info.CUDA_ARCHITECTURES
    else:
        assert c_api.cuda_toolkit_version() == 0
        assert info.CUDA_TOOLKIT_VERSION == "" and info.CUDA_ARCHITECTURES == ""
    if not os.environ.get("DSM_LIB_DIR"):  # the package reports what its build recorded
        assert dali_saliencymix.build_info()["dali_version"] == info.DALI_VERSION
        assert info.VERSION == dali_saliencymix.__version__


def test_other_dali_version_is_refused_with_a_remedy() -> None:
    with pytest.raises(ImportError) as err:
        _libs.check_dali_version("2.5.0", "2.4.0")
    text = str(err.value)
    assert "built against nvidia-dali 2.4.0" in text and "2.5.0 is installed" in text
    assert "pip install" in text and "--no-build-isolation" in text
    _libs.check_dali_version("2.4.0", "2.4.0")


def test_dali_of_another_cuda_major_is_refused_with_a_remedy() -> None:
    with pytest.raises(ImportError) as err:
        _libs.check_dali_version(
            "2.4.0",
            "2.4.0",
            installed_cuda="13048",
            built_cuda_major="12",
            distribution="nvidia-dali-cuda120",
        )
    text = str(err.value)
    assert "built against the CUDA 12 DALI (nvidia-dali-cuda120)" in text
    assert "built for CUDA 13" in text and "pip uninstall nvidia-dali-cuda130" in text
    info = dali_saliencymix.build_info()
    _libs.check_dali_version(  # the installed DALI passes its own check
        dali.__version__,
        str(info["dali_version"]),
        installed_cuda=str(dali.__cuda_version__),
        built_cuda_major=str(info["dali_cuda_major"]),
    )


def test_missing_library_says_how_to_build(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DSM_LIB_DIR", str(tmp_path))
    with pytest.raises(ImportError, match="not built: install it with `pip install .`"):
        _libs.library_path(_libs.PLUGIN_NAME)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((4, 4, 3), np.float32), "expected a uint8 image, got dtype float32"),
        (np.zeros((4, 4, 3), np.int16), "expected a uint8 image, got dtype int16"),
        (np.zeros((4, 4, 2), np.uint8), "1 (gray) or 3 (RGB) channels"),
        (np.zeros((4, 4, 4), np.uint8), "1 (gray) or 3 (RGB) channels"),
        (np.zeros((3, 16, 16), np.uint8), "looks like CHW"),
        (np.zeros((0, 4, 3), np.uint8), "non-empty image"),
        (np.zeros((4, 0), np.uint8), "non-empty image"),
        (np.zeros((4,), np.uint8), "expected an HWC or HW image"),
    ],
)
def test_c_api_rejects_bad_images(image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match="saliency") as err:
        saliency_map(image)
    assert message in str(err.value)


def test_cuda_entry_point_without_gpu_fails_cleanly() -> None:
    with pytest.raises(ValueError) as err:
        c_api.saliency_cuda([c_api.DsmSample(0, 0, 0, 4, 4, 3)], False, None)
    message = str(err.value)
    assert message.startswith("dsm_saliency_cuda:")
    assert "NULL" in message or "driver" in message or "CUDA support" in message
