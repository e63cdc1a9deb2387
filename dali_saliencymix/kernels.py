"""The kernels library through its C API (ctypes): saliency without DALI, on numpy arrays."""

from __future__ import annotations

import ctypes
from functools import lru_cache

import numpy as np

from dali_saliencymix._libs import KERNELS_NAME, library_path


class DsmSample(ctypes.Structure):
    """``dsm_sample`` of the C API: one device image of a batch."""

    _fields_ = [
        ("image", ctypes.c_void_p),
        ("map", ctypes.c_void_p),
        ("peak", ctypes.c_void_p),
        ("height", ctypes.c_int32),
        ("width", ctypes.c_int32),
        ("channels", ctypes.c_int32),
    ]


@lru_cache(maxsize=1)
def library() -> ctypes.CDLL:
    """The loaded kernels library, with argument types declared."""
    lib = ctypes.CDLL(str(library_path(KERNELS_NAME)))
    lib.dsm_version.restype = ctypes.c_char_p
    lib.dsm_last_error.restype = ctypes.c_char_p
    lib.dsm_cuda_toolkit_version.restype = ctypes.c_int32
    lib.dsm_saliency_cpu.restype = ctypes.c_int32
    lib.dsm_saliency_cpu.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int32,
        ctypes.c_int32,
        ctypes.c_int32,
        ctypes.c_void_p,
        ctypes.c_int32,
        ctypes.POINTER(ctypes.c_int64),
    ]
    lib.dsm_saliency_cuda.restype = ctypes.c_int32
    lib.dsm_saliency_cuda.argtypes = [
        ctypes.POINTER(DsmSample),
        ctypes.c_int32,
        ctypes.c_int32,
        ctypes.c_void_p,
    ]
    return lib


def check(status: int) -> None:
    """Raise the library's last error message when a C API call failed."""
    if status != 0:
        raise ValueError(library().dsm_last_error().decode())


def image_dims(image: np.ndarray, what: str = "image") -> tuple[int, int, int]:
    """(height, width, channels) of a uint8 HWC or HW array; a ValueError says what is wrong."""
    if image.dtype != np.uint8:
        raise ValueError(f"{what}: expected a uint8 image, got dtype {image.dtype}")
    if image.ndim == 2:
        return image.shape[0], image.shape[1], 1
    if image.ndim == 3:
        return image.shape[0], image.shape[1], image.shape[2]
    raise ValueError(f"{what}: expected an HWC or HW image, got shape {image.shape}")


def saliency_map(
    image: np.ndarray, *, dtype: type = np.uint8
) -> tuple[np.ndarray, tuple[int, int]]:
    """OpenCV's fine-grained saliency map of one RGB (HWC) or gray image, on the CPU.

    Returns the map (uint8 k, or float32 k/255 with ``dtype=np.float32``) and the (y, x) of its
    first maximum in row-major order. Equal, bit for bit, to
    ``cv2.saliency.StaticSaliencyFineGrained_create().computeSaliency(bgr)`` of the BGR copy.
    """
    h, w, c = image_dims(image, "saliency_map: image")
    out_dtype = np.dtype(dtype)
    if out_dtype not in (np.uint8, np.float32):
        raise ValueError(f"saliency_map: dtype must be uint8 or float32, got {out_dtype}")
    image = np.ascontiguousarray(image)
    out = np.empty((h, w), dtype=out_dtype)
    peak = ctypes.c_int64(0)
    check(
        library().dsm_saliency_cpu(
            image.ctypes.data,
            h,
            w,
            c,
            out.ctypes.data,
            int(out_dtype == np.float32),
            ctypes.byref(peak),
        )
    )
    return out, divmod(peak.value, max(w, 1))


def cuda_toolkit_version() -> int:
    """CUDA runtime version the kernels were built with (e.g. 13000), 0 for a CPU-only build."""
    return int(library().dsm_cuda_toolkit_version())
