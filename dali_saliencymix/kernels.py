"""The kernels on numpy arrays, without DALI: saliency maps and SaliencyMix on the CPU."""

from __future__ import annotations

import numpy as np

from dali_saliencymix import c_api
from dali_saliencymix.mix_options import MixConfig


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
    peak = c_api.saliency_cpu(image.ctypes.data, h, w, c, out.ctypes.data, out_dtype == np.float32)
    return out, divmod(peak, max(w, 1))


def label_arrays(
    labels: np.ndarray, num_samples: int, num_classes: int, what: str = "saliency_mix: labels"
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(class ids int32 [N], None) for integer labels, (None, soft float32 [N, C]) for float ones.

    Integer labels may be (N,) or (N, 1) (what ``fn.readers.file`` gives), each in
    [0, num_classes); float labels are one-hot or soft vectors (N, num_classes) of finite,
    non-negative weights. Anything else raises ValueError naming the sample.
    """
    labels = np.asarray(labels)
    if np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_:
        ids = labels.reshape(-1)
        if ids.shape != (num_samples,):
            raise ValueError(
                f"{what}: expected {num_samples} class ids (shape (N,) or (N, 1)), "
                f"got shape {labels.shape}"
            )
        # Checked before the int32 cast, which would wrap (2**32 + 3 is not class 3).
        bad = (ids < 0) | (ids >= num_classes)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{what}: sample {i} has class {int(ids[i])}, expected 0 <= label < "
                f"num_classes = {num_classes}"
            )
        return np.ascontiguousarray(ids, dtype=np.int32), None
    if np.issubdtype(labels.dtype, np.floating):
        if labels.shape != (num_samples, num_classes):
            raise ValueError(
                f"{what}: expected soft labels of shape ({num_samples}, "
                f"{num_classes}) (num_classes = {num_classes}), got {labels.shape}"
            )
        soft = np.ascontiguousarray(labels, dtype=np.float32)
        bad = ~(soft >= 0) | ~np.isfinite(soft)  # NaN, inf and negative weights
        if bad.any():
            i, k = (int(v) for v in np.argwhere(bad)[0])
            raise ValueError(
                f"{what}: sample {i}, class {k} has weight {soft[i, k]}, expected a finite "
                "value >= 0 (soft labels are probabilities)"
            )
        return None, soft
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
    options = MixConfig(
        num_classes=num_classes, mode=mode, label_smoothing=label_smoothing, correct_lam=correct_lam
    )
    if images.ndim != 4:
        raise ValueError(f"saliency_mix: images: expected an NHWC batch, got shape {images.shape}")
    n, h, w, c = images.shape
    image_dims(images[0] if n else np.empty((h, w, c), images.dtype), "saliency_mix: images")
    ids, soft = label_arrays(labels, n, options.num_classes)
    draws = draw_arrays(source, lam, apply, n)
    out_images = np.empty_like(images)
    out_labels = np.empty((n, options.num_classes), np.float32)
    boxes = np.empty((n, 4), np.int32)
    out_lam = np.empty(n, np.float32)
    if n:
        images = np.ascontiguousarray(images)
        c_api.saliency_mix(
            images=images.ctypes.data,
            shape=(n, h, w, c),
            label_ids=None if ids is None else ids.ctypes.data,
            soft_labels=None if soft is None else soft.ctypes.data,
            num_classes=options.num_classes,
            label_smoothing=options.label_smoothing,
            draws=tuple(d.ctypes.data for d in draws),
            batch_mode=options.mode == "batch",
            correct_lam=options.correct_lam,
            out_images=out_images.ctypes.data,
            out_labels=out_labels.ctypes.data,
            out_boxes=boxes.ctypes.data,
            out_lam=out_lam.ctypes.data,
        )
    return out_images, out_labels, boxes, out_lam
