"""The numpy front end, without DALI: saliency maps and the mixing family on the CPU.

- :func:`saliency_map`: OpenCV's fine-grained saliency of one image, and its peak;
- :func:`draw`: a batch's random draws with timm's distributions for a :class:`MixConfig`;
- :func:`mix`: MixUp / CutMix / SaliencyMix of a numpy batch, given or drawing the draws.

The checks of labels and draws here are shared with the torch front end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dali_saliencymix._native import c_api
from dali_saliencymix._text import type_name
from dali_saliencymix.options import MixConfig, resolve_options

# Soft-label rows must sum to 1 within this (float32 rounding of probabilities stays far inside).
LABEL_SUM_TOLERANCE = 1e-3


def require_array(value: object, what: str) -> None:
    """A TypeError naming `what` unless `value` is a numpy array (a tensor gets the torch path)."""
    if isinstance(value, np.ndarray):
        return
    kind = type_name(value)
    hint = (
        " (dali_saliencymix.torch takes tensors; or pass tensor.numpy())"
        if kind.startswith("torch.")
        else ""
    )
    raise TypeError(f"{what}: expected a numpy array, got {kind}{hint}")


def image_dims(image: np.ndarray, what: str = "image") -> tuple[int, int, int]:
    """(height, width, channels) of a uint8 HWC or HW array; a ValueError says what is wrong."""
    require_array(image, what)
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
    peak = c_api.saliency_cpu(
        image.ctypes.data, h, w, c, out.ctypes.data, out_dtype == np.float32, "saliency_map"
    )
    return out, divmod(peak, max(w, 1))


def label_arrays(
    labels: np.ndarray, num_samples: int, num_classes: int, what: str = "labels"
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(class ids int32 [N], None) for integer labels, (None, soft float32 [N, C]) for float ones.

    Integer labels may be (N,) or (N, 1) (what ``fn.readers.file`` gives), each in
    [0, num_classes); float labels are one-hot or soft vectors (N, num_classes) of finite,
    non-negative weights whose rows sum to 1 (see :func:`check_label_sums`). Anything else
    raises ValueError naming `what` and the sample.
    """
    labels = np.asarray(labels)
    if np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_:
        ids = labels.reshape(-1)
        if labels.shape not in ((num_samples,), (num_samples, 1)):
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
        check_label_sums(soft.sum(axis=1, dtype=np.float64), what)
        return None, soft
    raise ValueError(
        f"{what}: expected integer class ids or float soft labels, got dtype {labels.dtype}"
    )


def check_label_sums(sums: np.ndarray, what: str = "labels") -> None:
    """Raise ValueError unless every soft-label row sums to 1 within :data:`LABEL_SUM_TOLERANCE`.

    `sums` are the row sums (float64, one per sample); all-zero rows are refused too. The
    message names `what` (the function called and its argument), the sample and its sum.
    """
    off = ~(np.abs(sums - 1.0) <= LABEL_SUM_TOLERANCE)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise ValueError(
            f"{what}: sample {i} sums to {float(sums[i]):.6g}, expected 1 (|sum - 1| <= "
            f"{LABEL_SUM_TOLERANCE:g}): soft labels are probabilities; normalise the rows "
            "(an all-zero row has no class)"
        )


@dataclass
class MixDraws:
    """The random draws of one batch (docs/algorithm.md, "The mixing family").

    Attributes:
        source: int (N,): sample i is mixed with sample source[i] (its partner).
        lam: float (N,): the sampled target weights, in [0, 1].
        apply: int or bool (N,): the coin flips (non-zero: mix).
        cutmix: int or bool (N,): 1 if the mixing event is CutMix, 0 if MixUp; None: all CutMix.
        box: float (N, 4): uniform draws in [0, 1] that place a random box and draw the sides
            of a ``cutmix_minmax`` box; None when neither is used.

    """

    source: np.ndarray
    lam: np.ndarray
    apply: np.ndarray
    cutmix: np.ndarray | None = None
    box: np.ndarray | None = None


def draw(
    num_samples: int,
    options: MixConfig | None = None,
    seed: int | np.random.Generator | None = None,
    **fields: Any,
) -> MixDraws:
    """Draws for a batch with timm's distributions for the options (a MixConfig, or its fields).

    The partners: N-1-i (``pairing="reverse"``) or a random permutation (``"permutation"``).
    lam ~ Beta(cutmix_alpha) or Beta(mixup_alpha), the CutMix one with probability
    ``switch_prob`` when both alphas are > 0 (else the one that is); apply ~ Bernoulli(prob)
    (all 0 when ``enabled`` is False); the box draws uniform in [0, 1), when the box is random or
    ``cutmix_minmax`` is given. The generator is used in this order: permutation, CutMix lams,
    flips, MixUp lams, switch, box draws.
    """
    options = resolve_options(options, fields, "draw")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = num_samples
    if options.pairing == "permutation":
        source = rng.permutation(n).astype(np.int32)
    else:
        source = np.arange(n - 1, -1, -1, dtype=np.int32)
    a_cut, a_mix = options.cutmix_alpha, options.mixup_alpha
    lam = rng.beta(a_cut, a_cut, n) if a_cut > 0 else None
    apply = (rng.random(n) < options.prob).astype(np.uint8)
    if not options.enabled:
        apply[:] = 0
    cutmix = None
    if a_mix > 0:
        lam_mix = rng.beta(a_mix, a_mix, n)
        if lam is None:
            lam, cutmix = lam_mix, np.zeros(n, np.uint8)
        else:
            cutmix = (rng.random(n) < options.switch_prob).astype(np.uint8)
            lam = np.where(cutmix == 1, lam, lam_mix)
    box = rng.random((n, 4), dtype=np.float32) if options.uses_box_draws else None
    return MixDraws(source=source, lam=lam.astype(np.float32), apply=apply, cutmix=cutmix, box=box)


@dataclass
class DrawArrays:
    """A MixDraws as the C API takes it: contiguous host arrays of the C types (or None)."""

    source: np.ndarray  # int32 (N,)
    lam: np.ndarray  # float32 (N,)
    apply: np.ndarray  # uint8 (N,)
    cutmix: np.ndarray | None  # uint8 (N,)
    box: np.ndarray | None  # float32 (N, 4)

    @classmethod
    def of(cls, draws: MixDraws, num_samples: int, who: str) -> DrawArrays:
        """`draws` checked and converted; a ValueError names `who` and the field.

        Checked before the casts, which would wrap or truncate: ``source`` must be integer
        indices in [0, num_samples), ``apply`` and ``cutmix`` integer or bool flags (cutmix 0 or
        1), ``box`` (N, 4). The values of ``lam`` and ``box`` are checked by the C API.
        """
        given = {"source": draws.source, "lam": draws.lam, "apply": draws.apply}
        if draws.cutmix is not None:
            given["cutmix"] = draws.cutmix
        arrays = {name: np.asarray(values) for name, values in given.items()}
        for name, values in arrays.items():
            if values.size != num_samples:
                raise ValueError(
                    f"{who}: draws.{name}: expected {num_samples} values, got {values.size}"
                )
            if name != "lam" and not (
                np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_
            ):
                raise ValueError(
                    f"{who}: draws.{name}: expected integers or bools, got dtype {values.dtype}"
                )
        pairs = arrays["source"].reshape(-1)
        _first_bad(
            (pairs < 0) | (pairs >= num_samples),
            lambda i: (
                f"{who}: draws.source: sample {i} pairs with {int(pairs[i])}, expected an "
                f"index in [0, {num_samples})"
            ),
        )
        cutmix = None
        if "cutmix" in arrays:
            flags = arrays["cutmix"].reshape(-1)
            _first_bad(
                (flags != 0) & (flags != 1),
                lambda i: (
                    f"{who}: draws.cutmix: sample {i} is {flags[i]}, expected 0 (MixUp) "
                    "or 1 (CutMix)"
                ),
            )
            cutmix = np.ascontiguousarray(flags, dtype=np.uint8)
        box = None
        if draws.box is not None:
            box = np.ascontiguousarray(draws.box, dtype=np.float32)
            if box.shape != (num_samples, 4):
                raise ValueError(
                    f"{who}: draws.box: expected shape ({num_samples}, 4), got "
                    f"{np.shape(draws.box)}"
                )
        return cls(
            source=np.ascontiguousarray(pairs, dtype=np.int32),
            lam=np.ascontiguousarray(arrays["lam"], dtype=np.float32).reshape(-1),
            apply=np.ascontiguousarray(arrays["apply"].reshape(-1) != 0, dtype=np.uint8),
            cutmix=cutmix,
            box=box,
        )

    def pointers(self) -> dict[str, int | None]:
        """The keyword arguments ``source`` .. ``box_draw`` of ``c_api.mix``."""
        return {
            "source": self.source.ctypes.data,
            "lam": self.lam.ctypes.data,
            "apply": self.apply.ctypes.data,
            "cutmix": None if self.cutmix is None else self.cutmix.ctypes.data,
            "box_draw": None if self.box is None else self.box.ctypes.data,
        }


def _first_bad(bad: np.ndarray, message: Any) -> None:
    """Raise ValueError(message(i)) for the first true index of `bad`, if any."""
    if bad.any():
        raise ValueError(message(int(np.flatnonzero(bad)[0])))


def mix(
    images: np.ndarray,
    labels: np.ndarray,
    options: MixConfig | None = None,
    *,
    draws: MixDraws | None = None,
    seed: int | np.random.Generator | None = None,
    return_info: bool = False,
    **fields: Any,
) -> tuple[np.ndarray, ...]:
    """MixUp / CutMix / SaliencyMix of a numpy batch on the CPU (the kernels' C API).

    Options as ``MixConfig`` (``mode="batch"``: one box from one source's saliency, the paper's
    released code; ``placement="target_background"``: the paper's "Salient to Non-Salient",
    which trained worse in its ablation).

    Args:
        images: uint8 NHWC batch (C = 1 or 3), all of one size.
        labels: integer class ids (N,) or (N, 1), or float soft labels (N, num_classes).
        options: the options (``MixConfig``); or give its fields as keywords.
        draws: the draws (by default :func:`draw` makes them for the options); their
            ``source`` is used as given.
        seed: seed or numpy Generator for the draws.
        return_info: also return the boxes, target weights and sources (see Returns).
        **fields: ``MixConfig``'s fields, when ``options`` is not given.

    Returns:
        ``(images, labels)``: mixed images (N, H, W, C) uint8 and soft labels
        (N, num_classes) float32. With ``return_info`` also the boxes (N, 4) int32
        (y1, x1, y2, x2) in the source (zeros for MixUp and unmixed samples), the target weights
        (N,) float32 and the sources (N,) int32; with ``placement="target_background"`` then
        also the destination boxes (N, 4) int32, where each patch went in the target (zeros
        when nothing is pasted). The same outputs as ``fn.saliency_mix``.

    """
    who = "numpy.mix"
    options = resolve_options(options, fields, who)
    require_array(images, f"{who}: images")
    if images.ndim != 4:
        raise ValueError(f"{who}: images: expected an NHWC batch, got shape {images.shape}")
    n, h, w, c = images.shape
    image_dims(images[0] if n else np.empty((h, w, c), images.dtype), f"{who}: images")
    ids, soft = label_arrays(labels, n, options.num_classes, f"{who}: labels")
    arrays = DrawArrays.of(draws if draws is not None else draw(n, options, seed), n, who)
    out_images = np.empty_like(images)
    out_labels = np.empty((n, options.num_classes), np.float32)
    boxes = np.empty((n, 4), np.int32)
    lams = np.empty(n, np.float32)
    dest_boxes = np.empty((n, 4), np.int32)
    if n:
        images = np.ascontiguousarray(images)
        c_api.mix(
            images=images.ctypes.data,
            shape=(n, h, w, c),
            label_ids=None if ids is None else ids.ctypes.data,
            soft_labels=None if soft is None else soft.ctypes.data,
            options=options,
            **arrays.pointers(),
            out_images=out_images.ctypes.data,
            out_labels=out_labels.ctypes.data,
            out_boxes=boxes.ctypes.data,
            out_lam=lams.ctypes.data,
            out_dest_boxes=dest_boxes.ctypes.data,
            who=who,
        )
    if not return_info:
        return out_images, out_labels
    info = (boxes, lams, arrays.source.copy())
    if options.placement == "target_background":
        info += (dest_boxes,)
    return (out_images, out_labels, *info)
