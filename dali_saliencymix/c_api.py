"""ctypes binding of the kernels library's C API (``libdsm_kernels.so``, no DALI).

One Python function per C function, each the only place that C function is called from Python:
the numpy entry points (``kernels``) and the PyTorch path (``torch``) both go through here.
Pointers are plain integers (``array.ctypes.data``, ``tensor.data_ptr()``); a failed call raises
ValueError with the library's message.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from functools import lru_cache

from dali_saliencymix._libs import KERNELS_NAME, library_path

_p, _i32, _f32 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_float


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
    """The loaded kernels library, with the argument types of every C function declared."""
    lib = ctypes.CDLL(str(library_path(KERNELS_NAME)))
    lib.dsm_version.restype = ctypes.c_char_p
    lib.dsm_last_error.restype = ctypes.c_char_p
    lib.dsm_cuda_toolkit_version.restype = _i32
    # image, height, width, channels, map, float_output, peak_index
    lib.dsm_saliency_cpu.argtypes = [_p, _i32, _i32, _i32, _p, _i32, ctypes.POINTER(ctypes.c_int64)]
    # samples, num_samples, float_output, stream
    lib.dsm_saliency_cuda.argtypes = [ctypes.POINTER(DsmSample), _i32, _i32, _p]
    # images, n, h, w, c, label_ids, soft_labels, num_classes, smoothing, source, lam, apply,
    # batch_mode, correct_lam, out_images, out_labels, out_boxes, out_lam
    lib.dsm_saliency_mix_cpu.argtypes = [_p, _i32, _i32, _i32, _i32, _p, _p, _i32, _f32,
                                         _p, _p, _p, _i32, _i32, _p, _p, _p, _p]  # fmt: skip
    # images, n, h, w, c, soft_labels, num_classes, smoothing, source, lam, apply, batch_mode,
    # correct_lam, out_images, out_labels, out_boxes, out_lam, stream
    lib.dsm_saliency_mix_cuda.argtypes = [_p, _i32, _i32, _i32, _i32, _p, _i32, _f32,
                                          _p, _p, _p, _i32, _i32, _p, _p, _p, _p, _p]  # fmt: skip
    for name in ("dsm_saliency_cpu", "dsm_saliency_cuda", "dsm_saliency_mix_cpu",
                 "dsm_saliency_mix_cuda"):  # fmt: skip
        getattr(lib, name).restype = _i32
    return lib


def check(status: int) -> None:
    """Raise the library's last error message when a C API call failed."""
    if status != 0:
        raise ValueError(library().dsm_last_error().decode())


def version() -> str:
    """Version of the kernels library."""
    return library().dsm_version().decode()


def cuda_toolkit_version() -> int:
    """CUDA runtime version the kernels were built with (e.g. 13000), 0 for a CPU-only build."""
    return int(library().dsm_cuda_toolkit_version())


def saliency_cpu(
    image: int, height: int, width: int, channels: int, out_map: int, float_output: bool
) -> int:
    """Saliency map of one host image into ``out_map``; returns the row-major peak index."""
    peak = ctypes.c_int64(0)
    check(
        library().dsm_saliency_cpu(
            image, height, width, channels, out_map, int(float_output), ctypes.byref(peak)
        )
    )
    return peak.value


def saliency_cuda(
    samples: Sequence[DsmSample] | ctypes.Array, float_output: bool, stream: int | None
) -> None:
    """Saliency maps (and peaks) of device images on a CUDA stream (None: the default stream).

    ``samples`` may be a prepared ``(DsmSample * N)`` array, reused across calls.
    """
    if not isinstance(samples, ctypes.Array):
        samples = (DsmSample * len(samples))(*samples)
    check(library().dsm_saliency_cuda(samples, len(samples), int(float_output), stream))


def saliency_mix(
    *,
    images: int,
    shape: tuple[int, int, int, int],
    label_ids: int | None,
    soft_labels: int | None,
    num_classes: int,
    label_smoothing: float,
    draws: tuple[int, int, int],
    batch_mode: bool,
    correct_lam: bool,
    out_images: int,
    out_labels: int,
    out_boxes: int | None,
    out_lam: int | None,
    stream: int | None = None,
    cuda: bool = False,
) -> None:
    """SaliencyMix of a batch through the C API, on the host or (``cuda``) on a CUDA stream.

    ``shape`` is (N, H, W, C); ``draws`` the pointers of the int32 sources, float32 lams and
    uint8 coin flips (host arrays of N values). On CUDA, labels are device soft labels only.
    """
    n, h, w, c = shape
    source, lam, apply = draws
    options = (num_classes, _f32(label_smoothing), source, lam, apply, int(batch_mode))
    outputs = (int(correct_lam), out_images, out_labels, out_boxes, out_lam)
    if cuda:
        status = library().dsm_saliency_mix_cuda(
            images, n, h, w, c, soft_labels, *options, *outputs, stream
        )
    else:
        status = library().dsm_saliency_mix_cpu(
            images, n, h, w, c, label_ids, soft_labels, *options, *outputs
        )
    check(status)
