"""The kernels on numpy arrays, without DALI: saliency maps and the mixing family on the CPU.

The mixing family: MixUp, CutMix with a random or saliency-centred box (SaliencyMix), and its
random draws.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        return None, soft
    raise ValueError(
        f"{what}: expected integer class ids or float soft labels, got dtype {labels.dtype}"
    )


@dataclass
class MixDraws:
    """The random draws of one batch (docs/algorithm.md, "The mixing family").

    Attributes:
        source: int32 (N,): sample i is mixed with sample source[i] (its partner).
        lam: float32 (N,): the sampled target weights, in [0, 1].
        apply: uint8 (N,): the coin flips (non-zero: mix).
        cutmix: uint8 (N,): 1 if the mixing event is CutMix, 0 if MixUp; None: all CutMix.
        box: float32 (N, 4): uniform draws in [0, 1] that place a random box and draw the sides
            of a ``cutmix_minmax`` box; None when neither is used.

    """

    source: np.ndarray
    lam: np.ndarray
    apply: np.ndarray
    cutmix: np.ndarray | None = None
    box: np.ndarray | None = None


def draw(
    num_samples: int,
    options: MixConfig,
    seed: int | np.random.Generator | None = None,
) -> MixDraws:
    """Draws for a batch with timm's distributions for ``options`` (a ``MixConfig``).

    The partners: a random permutation (``pairing="permutation"``) or N-1-i (``"reverse"``).
    lam ~ Beta(cutmix_alpha) or Beta(mixup_alpha), the CutMix one with probability
    ``switch_prob`` when both alphas are > 0 (else the one that is); apply ~ Bernoulli(prob)
    (all 0 when ``options.enabled`` is False); the box draws uniform in [0, 1), when the box is
    random or ``cutmix_minmax`` is given. For SaliencyMix's options (CutMix only, saliency
    boxes) the draws are those that ``dali_saliencymix.torch.draw`` always made for a seed.
    """
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
    box = None
    if options.box == "random" or options.cutmix_minmax is not None:
        box = rng.random((n, 4), dtype=np.float32)
    return MixDraws(source=source, lam=lam.astype(np.float32), apply=apply, cutmix=cutmix, box=box)


def draw_arrays(
    source: np.ndarray, lam: np.ndarray, apply: np.ndarray, num_samples: int, what: str = ""
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The draws as contiguous int32 / float32 / uint8 arrays of num_samples values each.

    Checked before the casts, which would wrap or truncate: ``source`` must be integer indices
    in [0, num_samples) and ``apply`` integer or bool flags (non-zero: mix); ``lam`` is checked
    for its range by the C API.
    """
    given = {"source": np.asarray(source), "lam": np.asarray(lam), "apply": np.asarray(apply)}
    for name, values in given.items():
        if values.size != num_samples:
            raise ValueError(
                f"saliency_mix: {what}{name}: expected {num_samples} values, got {values.size}"
            )
    for name in ("source", "apply"):
        values = given[name]
        if not (np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_):
            raise ValueError(
                f"saliency_mix: {what}{name}: expected integers, got dtype {values.dtype}"
            )
    pairs = given["source"].reshape(-1)
    bad = (pairs < 0) | (pairs >= num_samples)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"saliency_mix: {what}source: sample {i} pairs with {int(pairs[i])}, expected an "
            f"index in [0, {num_samples})"
        )
    return (
        np.ascontiguousarray(pairs, dtype=np.int32),
        np.ascontiguousarray(given["lam"], dtype=np.float32).reshape(-1),
        np.ascontiguousarray(given["apply"].reshape(-1) != 0, dtype=np.uint8),
    )


@dataclass
class DrawArrays:
    """A MixDraws as the C API takes it: contiguous host arrays of the C types (or None)."""

    source: np.ndarray  # int32 (N,)
    lam: np.ndarray  # float32 (N,)
    apply: np.ndarray  # uint8 (N,)
    cutmix: np.ndarray | None  # uint8 (N,)
    box: np.ndarray | None  # float32 (N, 4)

    def pointers(self) -> dict[str, int | None]:
        """The keyword arguments ``source`` .. ``box_draw`` of ``c_api.mix``."""
        return {
            "source": self.source.ctypes.data,
            "lam": self.lam.ctypes.data,
            "apply": self.apply.ctypes.data,
            "cutmix": None if self.cutmix is None else self.cutmix.ctypes.data,
            "box_draw": None if self.box is None else self.box.ctypes.data,
        }


def mix_draw_arrays(draws: MixDraws, num_samples: int, what: str = "draws.") -> DrawArrays:
    """``draws`` checked for length and converted for the C API (values are checked there).

    ``cutmix`` may be of any integer or bool type (values 0 or 1); ``box`` must be (N, 4).
    """
    source, lam, apply = draw_arrays(draws.source, draws.lam, draws.apply, num_samples, what)
    cutmix = box = None
    if draws.cutmix is not None:
        flags = np.asarray(draws.cutmix)
        if flags.size != num_samples:
            raise ValueError(
                f"saliency_mix: {what}cutmix: expected {num_samples} values, got {flags.size}"
            )
        if not (np.issubdtype(flags.dtype, np.integer) or flags.dtype == np.bool_):
            raise ValueError(
                f"saliency_mix: {what}cutmix: expected integer or bool flags (1 CutMix, "
                f"0 MixUp), got dtype {flags.dtype}"
            )
        bad = (flags != 0) & (flags != 1)
        if bad.any():
            i = int(np.flatnonzero(bad.reshape(-1))[0])
            raise ValueError(
                f"saliency_mix: {what}cutmix: sample {i} is {flags.reshape(-1)[i]}, expected 0 "
                "(MixUp) or 1 (CutMix)"
            )
        cutmix = np.ascontiguousarray(flags, dtype=np.uint8).reshape(-1)
    if draws.box is not None:
        box = np.ascontiguousarray(draws.box, dtype=np.float32)
        if box.shape != (num_samples, 4):
            raise ValueError(
                f"saliency_mix: {what}box: expected shape ({num_samples}, 4), got "
                f"{np.shape(draws.box)}"
            )
    return DrawArrays(source, lam, apply, cutmix, box)


def mix_numpy(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    draws: MixDraws,
    options: MixConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The mixing family on a numpy batch on the CPU, given the random draws (the C API).

    Args:
        images: uint8 NHWC batch (C = 1 or 3), all of one size.
        labels: integer class ids (N,) or (N, 1), or float soft labels (N, num_classes).
        draws: the draws (``draw`` makes them with timm's distributions); their ``source`` is
            used as given (``options.pairing`` plays no part here).
        options: the fields ``mode``, ``box``, ``cutmix_minmax``, ``correct_lam``,
            ``label_smoothing``, ``num_classes``, ``placement`` and ``label_weights`` are used.

    Returns:
        Mixed images (N, H, W, C) uint8, soft labels (N, num_classes) float32, boxes (N, 4)
        int32 as (y1, x1, y2, x2) in the source (zeros for MixUp and unmixed samples), the
        target weights (N,) float32, and the destination boxes (N, 4) int32: where each patch
        went in the target (the same as the boxes with ``placement="source_peak"``; with
        ``"target_background"`` the chosen place, zeros when nothing is pasted).

    """
    if images.ndim != 4:
        raise ValueError(f"saliency_mix: images: expected an NHWC batch, got shape {images.shape}")
    n, h, w, c = images.shape
    image_dims(images[0] if n else np.empty((h, w, c), images.dtype), "saliency_mix: images")
    ids, soft = label_arrays(labels, n, options.num_classes)
    arrays = mix_draw_arrays(draws, n, "")
    out_images = np.empty_like(images)
    out_labels = np.empty((n, options.num_classes), np.float32)
    boxes = np.empty((n, 4), np.int32)
    out_lam = np.empty(n, np.float32)
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
            out_lam=out_lam.ctypes.data,
            out_dest_boxes=dest_boxes.ctypes.data,
        )
    return out_images, out_labels, boxes, out_lam, dest_boxes


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
            peak), ``"batch"`` (one lam, flip and box, from the source of sample 0) or
            ``"pair"`` (sample i uses the draws of min(i, source[i]); source must pair the
            samples both ways).
        label_smoothing: timm's label smoothing, in [0, 1).
        correct_lam: the target weight is 1 - box area / image area (else the sampled lam).

    Returns:
        Mixed images (N, H, W, C) uint8, soft labels (N, num_classes) float32, boxes (N, 4)
        int32 as (y1, x1, y2, x2), and the target weights (N,) float32.

    """
    options = MixConfig(
        num_classes=num_classes,
        mode=mode,
        label_smoothing=label_smoothing,
        correct_lam=correct_lam,
        # The sources are given: any pairing is accepted here (pair mode checks that they pair).
        pairing="reverse" if mode == "pair" else "permutation",
    )
    return mix_numpy(images, labels, draws=MixDraws(source, lam, apply), options=options)[:4]
