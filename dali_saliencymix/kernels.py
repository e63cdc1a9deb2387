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
    lib.dsm_saliency_mix_cpu.restype = ctypes.c_int32
    # images, n, h, w, c, label_ids, soft_labels, num_classes, smoothing, source, lam, apply,
    # batch_mode, correct_lam, out_images, out_labels, out_boxes, out_lam
    p, i32 = ctypes.c_void_p, ctypes.c_int32
    lib.dsm_saliency_mix_cpu.argtypes = [p, i32, i32, i32, i32, p, p, i32, ctypes.c_float,
                                         p, p, p, i32, i32, p, p, p, p]  # fmt: skip
    lib.dsm_saliency_mix_cuda.restype = ctypes.c_int32
    # images, n, h, w, c, soft_labels, num_classes, smoothing, source, lam, apply, batch_mode,
    # correct_lam, out_images, out_labels, out_boxes, out_lam, stream
    lib.dsm_saliency_mix_cuda.argtypes = [p, i32, i32, i32, i32, p, i32, ctypes.c_float,
                                          p, p, p, i32, i32, p, p, p, p, p]  # fmt: skip
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


def label_arrays(
    labels: np.ndarray, num_samples: int, num_classes: int, what: str = "saliency_mix: labels"
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(class ids int32 [N], None) for integer labels, (None, soft float32 [N, C]) for float ones.

    Integer labels may be (N,) or (N, 1) (what ``fn.readers.file`` gives); float labels are
    one-hot or soft vectors (N, num_classes).
    """
    labels = np.asarray(labels)
    if np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_:
        ids = labels.reshape(-1)
        if ids.shape != (num_samples,):
            raise ValueError(
                f"{what}: expected {num_samples} class ids (shape (N,) or (N, 1)), "
                f"got shape {labels.shape}"
            )
        return np.ascontiguousarray(ids, dtype=np.int32), None
    if np.issubdtype(labels.dtype, np.floating):
        if labels.shape != (num_samples, num_classes):
            raise ValueError(
                f"{what}: expected soft labels of shape ({num_samples}, "
                f"{num_classes}) (num_classes = {num_classes}), got {labels.shape}"
            )
        return None, np.ascontiguousarray(labels, dtype=np.float32)
    raise ValueError(
        f"{what}: expected integer class ids or float soft labels, got dtype {labels.dtype}"
    )


def draw_arrays(
    source: np.ndarray, lam: np.ndarray, apply: np.ndarray, num_samples: int, what: str = ""
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The draws as contiguous int32 / float32 / uint8 arrays of num_samples values each."""
    arrays = (
        np.ascontiguousarray(source, dtype=np.int32).reshape(-1),
        np.ascontiguousarray(lam, dtype=np.float32).reshape(-1),
        np.ascontiguousarray(apply, dtype=np.uint8).reshape(-1),
    )
    for name, values in zip(("source", "lam", "apply"), arrays, strict=True):
        if values.shape != (num_samples,):
            raise ValueError(
                f"saliency_mix: {what}{name}: expected {num_samples} values, got {values.size}"
            )
    return arrays


def saliency_mix_numpy(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    num_classes: int,
    source: np.ndarray,
    lam: np.ndarray,
    apply: np.ndarray,
    mode: str = "elem",
    label_smoothing: float = 0.0,
    correct_lam: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SaliencyMix of a numpy batch on the CPU, given the random draws (the kernels' C API).

    Args:
        images: uint8 NHWC batch (C = 1 or 3), all of one size.
        labels: integer class ids (N,) or (N, 1), or float soft labels (N, num_classes).
        num_classes: length of the soft labels.
        source: sample i is mixed with sample source[i] (a permutation of the batch).
        lam: sampled target weights, shape (N,) (``mode="batch"`` uses lam[0]).
        apply: coin flips, shape (N,) (``mode="batch"`` uses apply[0]).
        mode: ``"elem"`` (each pair its own lam, flip and box centred on its source's saliency
            peak) or ``"batch"`` (one lam, flip and box, from the source of sample 0).
        label_smoothing: timm's label smoothing, in [0, 1).
        correct_lam: the target weight is 1 - box area / image area (else the sampled lam).

    Returns:
        Mixed images (N, H, W, C) uint8, soft labels (N, num_classes) float32, boxes (N, 4)
        int32 as (y1, x1, y2, x2), and the target weights (N,) float32.

    """
    if mode not in ("elem", "batch"):
        raise ValueError(f"saliency_mix: mode must be 'elem' or 'batch', got {mode!r}")
    if images.ndim != 4:
        raise ValueError(f"saliency_mix: images: expected an NHWC batch, got shape {images.shape}")
    n, h, w, c = images.shape
    if n:
        image_dims(images[0], "saliency_mix: images")
    images = np.ascontiguousarray(images)
    ids, soft = label_arrays(labels, n, max(num_classes, 1))
    source, lam, apply = draw_arrays(source, lam, apply, n)
    out_images = np.empty_like(images)
    out_labels = np.empty((n, max(num_classes, 0)), np.float32)
    boxes = np.empty((n, 4), np.int32)
    out_lam = np.empty(n, np.float32)
    check(
        library().dsm_saliency_mix_cpu(
            images.ctypes.data,
            n,
            h,
            w,
            c,
            None if ids is None else ids.ctypes.data,
            None if soft is None else soft.ctypes.data,
            num_classes,
            ctypes.c_float(label_smoothing),
            source.ctypes.data,
            lam.ctypes.data,
            apply.ctypes.data,
            int(mode == "batch"),
            int(correct_lam),
            out_images.ctypes.data,
            out_labels.ctypes.data,
            boxes.ctypes.data,
            out_lam.ctypes.data,
        )
    )
    return out_images, out_labels, boxes, out_lam
