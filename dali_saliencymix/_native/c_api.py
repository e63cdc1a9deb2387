"""ctypes binding of the kernels library's C API (``libdsm_kernels.so``, no DALI).

One Python function per C function, each the only place that C function is called from Python:
the numpy entry points (``kernels``) and the PyTorch path (``torch``) both go through here.
Pointers are plain integers (``array.ctypes.data``, ``tensor.data_ptr()``); a failed call raises
ValueError with the library's message, said by the function the user called (``who``) instead of
the C entry point.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from functools import lru_cache

from dali_saliencymix._native.libs import KERNELS_NAME, library_path
from dali_saliencymix.options import MixConfig

_p, _i32 = ctypes.c_void_p, ctypes.c_int32


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


class DsmMixArgs(ctypes.Structure):
    """``dsm_mix_args`` of the C API: a batch of the mixing family (pointers as integers)."""

    _fields_ = [
        ("images", ctypes.c_void_p),
        ("num_samples", ctypes.c_int32),
        ("height", ctypes.c_int32),
        ("width", ctypes.c_int32),
        ("channels", ctypes.c_int32),
        ("label_ids", ctypes.c_void_p),
        ("soft_labels", ctypes.c_void_p),
        ("num_classes", ctypes.c_int32),
        ("label_smoothing", ctypes.c_float),
        ("source", ctypes.c_void_p),
        ("lam", ctypes.c_void_p),
        ("apply", ctypes.c_void_p),
        ("cutmix", ctypes.c_void_p),
        ("box_draw", ctypes.c_void_p),
        ("mode", ctypes.c_int32),
        ("random_box", ctypes.c_int32),
        ("has_minmax", ctypes.c_int32),
        ("minmax", ctypes.c_double * 2),
        ("correct_lam", ctypes.c_int32),
        ("out_images", ctypes.c_void_p),
        ("out_labels", ctypes.c_void_p),
        ("out_boxes", ctypes.c_void_p),
        ("out_lam", ctypes.c_void_p),
        ("placement", ctypes.c_int32),
        ("label_weights", ctypes.c_int32),
        ("out_dest_boxes", ctypes.c_void_p),
    ]


# The C API's codes of the modes (dsm_mix_args.mode).
MODE_CODES = {"elem": 0, "batch": 1, "pair": 2}
# ... of the CutMix placements (dsm_mix_args.placement) and label weights (.label_weights).
PLACEMENT_CODES = {"source_peak": 0, "target_background": 1}
LABEL_WEIGHT_CODES = {"area": 0, "saliency": 1}


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
    lib.dsm_mix_cpu.argtypes = [ctypes.POINTER(DsmMixArgs)]
    lib.dsm_mix_cuda.argtypes = [ctypes.POINTER(DsmMixArgs), _p]
    for name in ("dsm_saliency_cpu", "dsm_saliency_cuda", "dsm_mix_cpu", "dsm_mix_cuda"):
        getattr(lib, name).restype = _i32
    return lib


def check(status: int, who: str | None = None) -> None:
    """Raise the library's last error message when a C API call failed.

    The message starts with the C entry point (``dsm_mix_cpu: ...``); with `who` it names the
    function the user called instead.
    """
    if status != 0:
        message = library().dsm_last_error().decode()
        if who is not None and message.startswith("dsm_"):
            message = f"{who}:{message.split(':', 1)[1]}" if ":" in message else message
        raise ValueError(message)


def version() -> str:
    """Version of the kernels library."""
    return library().dsm_version().decode()


def cuda_toolkit_version() -> int:
    """CUDA runtime version the kernels were built with (e.g. 13000), 0 for a CPU-only build."""
    return int(library().dsm_cuda_toolkit_version())


def saliency_cpu(
    image: int,
    height: int,
    width: int,
    channels: int,
    out_map: int,
    float_output: bool,
    who: str | None = None,
) -> int:
    """Saliency map of one host image into ``out_map``; returns the row-major peak index."""
    peak = ctypes.c_int64(0)
    check(
        library().dsm_saliency_cpu(
            image, height, width, channels, out_map, int(float_output), ctypes.byref(peak)
        ),
        who,
    )
    return peak.value


def saliency_cuda(
    samples: Sequence[DsmSample] | ctypes.Array,
    float_output: bool,
    stream: int | None,
    who: str | None = None,
) -> None:
    """Saliency maps (and peaks) of device images on a CUDA stream (None: the default stream).

    ``samples`` may be a prepared ``(DsmSample * N)`` array, reused across calls.
    """
    if not isinstance(samples, ctypes.Array):
        samples = (DsmSample * len(samples))(*samples)
    check(library().dsm_saliency_cuda(samples, len(samples), int(float_output), stream), who)


def mix(
    *,
    images: int,
    shape: tuple[int, int, int, int],
    label_ids: int | None,
    soft_labels: int | None,
    options: MixConfig,
    source: int,
    lam: int,
    apply: int,
    cutmix: int | None,
    box_draw: int | None,
    out_images: int,
    out_labels: int,
    out_boxes: int | None,
    out_lam: int | None,
    out_dest_boxes: int | None = None,
    cuda: bool = False,
    stream: int | None = None,
    who: str | None = None,
) -> None:
    """Mix a batch through the C API: ``dsm_mix_cpu``, or ``dsm_mix_cuda`` on a stream.

    With ``cuda``, the work goes on CUDA stream ``stream`` (None: the default stream).
    ``shape`` is (N, H, W, C); every array argument is a pointer (an int) or None. The draws
    are host arrays: int32 ``source``, float32 ``lam``, uint8 ``apply``, uint8 ``cutmix``
    (None: all CutMix) and float32 ``box_draw`` (N x 4; None when neither a random box nor
    ``cutmix_minmax`` needs it). `options` gives the per-batch options (num_classes, smoothing,
    mode, box, cutmix_minmax, correct_lam, placement, label_weights; its draw distributions do
    not matter here). ``out_dest_boxes`` (N x 4 int32, may be None) receives where each patch
    went in the target.
    On CUDA, images, labels and outputs are device pointers and the labels are soft labels only.
    """
    n, h, w, c = shape
    args = DsmMixArgs(
        images=images,
        num_samples=n,
        height=h,
        width=w,
        channels=c,
        label_ids=label_ids,
        soft_labels=soft_labels,
        num_classes=options.num_classes,
        label_smoothing=options.label_smoothing,
        source=source,
        lam=lam,
        apply=apply,
        cutmix=cutmix,
        box_draw=box_draw,
        mode=MODE_CODES[options.mode],
        random_box=int(options.box == "random"),
        has_minmax=int(options.cutmix_minmax is not None),
        minmax=(ctypes.c_double * 2)(*(options.cutmix_minmax or (0.0, 0.0))),
        correct_lam=int(options.correct_lam),
        out_images=out_images,
        out_labels=out_labels,
        out_boxes=out_boxes,
        out_lam=out_lam,
        placement=PLACEMENT_CODES[options.placement],
        label_weights=LABEL_WEIGHT_CODES[options.label_weights],
        out_dest_boxes=out_dest_boxes,
    )
    if cuda:
        check(library().dsm_mix_cuda(ctypes.byref(args), stream), who)
    else:
        check(library().dsm_mix_cpu(ctypes.byref(args)), who)
