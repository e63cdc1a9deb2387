"""The feature-map rule of ``FeatureSaliencyMix``: saliency, peak, box and paste, as tensor ops.

One batch of feature maps F (N x C x H x W) and the draws that govern each sample (partner,
lam, coin flip, box draws) give the mixed maps, the boxes and the target weights. The box
arithmetic is the image operator's (``plugin_src/mix/box.h``; docs/algorithm.md, "The
mixing family"), written with float64 / int64 tensor ops over the batch, so that it runs where
the feature maps are (CPU or GPU, under autocast, channels-last, ``torch.compile``) without a
Python loop over samples and without waiting for the device. docs/feature_mix.md states the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dali_saliencymix.options import FEATURE_SALIENCY as SALIENCY_KINDS
from dali_saliencymix.torch.feature_draws import APPLY, BOX_DRAWS, LAM, SOURCE


class FeatureMixError(ValueError):
    """A layer's output cannot be mixed (not feature maps, no box size, run twice or never)."""


@dataclass(frozen=True)
class BoxRule:
    """The per-mixer constants of the rule.

    Attributes:
        mode: ``"batch"`` (one box, centred on the peak of the source of sample 0), ``"pair"``
            or ``"elem"`` (each sample's box on its own source's peak).
        random_box: the box placed by the uniform draws (timm's CutMix), not on the peak.
        minmax: timm's ``cutmix_minmax`` (box sides drawn from this fraction range), or None.
        correct_lam: lam = 1 - box area / (H * W) (always with ``minmax``).
        saliency: ``"mean_abs"``, ``"l2"`` or ``"max"`` over the channels.

    """

    mode: str
    random_box: bool
    minmax: tuple[float, float] | None
    correct_lam: bool
    saliency: str


def feature_saliency(features: torch.Tensor, kind: str) -> torch.Tensor:
    """The float32 saliency map (N, H, W) of feature maps (N, C, H, W), reduced over channels.

    ``"mean_abs"``: the mean of |F| over channels, as C times the mean: the sum of |F| (the
    same maxima, without the rounding of a division by C); ``"l2"``: the L2 norm over channels;
    ``"max"``: the maximum over channels. bf16 / fp16 maps are reduced in float32.
    """
    if kind == "mean_abs":
        return torch.linalg.vector_norm(features, ord=1, dim=1, dtype=torch.float32)
    if kind == "l2":
        return torch.linalg.vector_norm(features, ord=2, dim=1, dtype=torch.float32)
    if kind == "max":
        return features.amax(dim=1).float()
    raise ValueError(
        f"feature_saliency: kind must be one of {', '.join(SALIENCY_KINDS)}, got {kind!r}"
    )


def first_peaks(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(y, x) int64 of each map's first maximum in row-major order (all-equal maps: (0, 0))."""
    index = maps.flatten(1).argmax(dim=1)
    width = maps.shape[-1]
    return torch.div(index, width, rounding_mode="floor"), index % width


def uniform_index(u: torch.Tensor, n: torch.Tensor | int) -> torch.Tensor:
    """floor(u * n) in float64 for uniform draws u in [0, 1], clamped to [0, n - 1] (int64)."""
    k = (u * n).trunc().long()
    if isinstance(n, torch.Tensor):
        return torch.minimum(k, n - 1).clamp(min=0)
    return k.clamp(min=0, max=max(n - 1, 0))


def cut_length(length: int, lam: torch.Tensor, float32: bool) -> torch.Tensor:
    """int(length * sqrt(1 - lam)) (int64): in float64, or in float32 (timm's elem/pair lam)."""
    if float32:
        rest = (1.0 - lam.float()).clamp(min=0.0)
    else:
        rest = (1.0 - lam).clamp(min=0.0)
    return (length * rest.sqrt()).trunc().long()


def minmax_sides(
    length: int, minmax: tuple[float, float], u: torch.Tensor, where: str
) -> torch.Tensor:
    """Box sides drawn from [int(L * min), int(L * max)) (timm's ``rand_bbox_minmax``)."""
    low, high = int(length * minmax[0]), int(length * minmax[1])
    if high <= low:
        raise FeatureMixError(
            f"FeatureSaliencyMix: cutmix_minmax {minmax} leaves no box size for {where}"
        )
    return low + uniform_index(u, high - low)


def axis_box(
    rule: BoxRule,
    length: int,
    lam: torch.Tensor,
    u: torch.Tensor,
    peak: torch.Tensor | None,
    where: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """[start, stop) of the boxes along one axis of `length` (u: this axis's two box draws).

    u[:, 0] draws the side of a ``minmax`` box, u[:, 1] its place (random box) or, without
    ``minmax``, u[:, 0] the centre of a random box; ``peak`` centres a saliency box.
    """
    if rule.minmax is not None:
        side = minmax_sides(length, rule.minmax, u[:, 0], where)
        if rule.random_box:
            start = uniform_index(u[:, 1], length - side + 1)
            return start, start + side
        top = peak - torch.div(side, 2, rounding_mode="floor")
        return top.clamp(0, length), (top + side).clamp(0, length)
    side = cut_length(length, lam, float32=rule.random_box and rule.mode != "batch")
    half = torch.div(side, 2, rounding_mode="floor")
    if rule.random_box:
        centre = uniform_index(u[:, 0], length)
        upper = torch.div(side + 1, 2, rounding_mode="floor")
        return (centre - half).clamp(0, length), (centre + upper).clamp(0, length)
    return (peak - half).clamp(0, length), (peak + half).clamp(0, length)


def feature_boxes(
    rule: BoxRule,
    height: int,
    width: int,
    draws: torch.Tensor,
    peaks: tuple[torch.Tensor, torch.Tensor] | None,
    where: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes (N, 4) int64 ``y1, x1, y2, x2`` and target weights (N,) float32.

    `draws`: the packed float64 draws (N, 7); `peaks`: the (y, x) that centre saliency boxes
    (None for random boxes). A sample whose coin flip is 0 gets the empty box and lam = 1.
    """
    lam, apply, u = draws[:, LAM], draws[:, APPLY] != 0, draws[:, BOX_DRAWS]
    peak_y, peak_x = peaks if peaks is not None else (None, None)
    y1, y2 = axis_box(rule, height, lam, u[:, [0, 2]], peak_y, where)
    x1, x2 = axis_box(rule, width, lam, u[:, [1, 3]], peak_x, where)
    boxes = torch.stack(torch.broadcast_tensors(y1, x1, y2, x2), dim=1)
    boxes = torch.where(apply[:, None], boxes, 0)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    if rule.correct_lam or rule.minmax is not None:
        weight = (1.0 - area.double() / (height * width)).float()
    else:
        weight = lam.float()
    return boxes, torch.where(apply, weight, 1.0)


def check_feature_map(features: object, num_samples: int, layer: str) -> None:
    """A FeatureMixError naming `layer` unless its output is N x C x H x W with C, H, W >= 1."""
    if not isinstance(features, torch.Tensor) or features.dim() != 4:
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features)
        raise FeatureMixError(
            f"FeatureSaliencyMix: layer {layer!r} gives {shape}; feature mixing needs a tensor of "
            "feature maps (N, C, H, W): choose a convolutional stage"
        )
    n, c, h, w = features.shape
    if n != num_samples or min(c, h, w) < 1:
        raise FeatureMixError(
            f"FeatureSaliencyMix: layer {layer!r} gives feature maps of shape {(n, c, h, w)} for "
            f"a batch of {num_samples}; expected ({num_samples}, C, H, W) with C, H, W >= 1"
        )


def mix_feature_map(
    features: torch.Tensor, draws: torch.Tensor, rule: BoxRule, layer: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The mixed feature maps, the boxes (N, 4) int32 and the target weights (N,) float32.

    ``F[i]`` inside its box becomes ``F[source[i]]`` there (one masked select); the box is
    centred on the first maximum of the source's saliency (batch mode: of the source of
    sample 0) or placed by the draws (random box). Gradients flow to both samples.
    """
    check_feature_map(features, draws.shape[0], layer)
    _, _, height, width = features.shape
    where = f"the {height} x {width} feature map of layer {layer!r}"
    sources = features[draws[:, SOURCE].long()]  # keeps the memory format (channels-last)
    peaks = None
    if not rule.random_box:
        centring = sources[:1] if rule.mode == "batch" else sources
        peaks = first_peaks(feature_saliency(centring.detach(), rule.saliency))
    boxes, lam = feature_boxes(rule, height, width, draws, peaks, where)
    rows = torch.arange(height, device=features.device)[None, :, None]
    columns = torch.arange(width, device=features.device)[None, None, :]
    y1, x1, y2, x2 = (boxes[:, k, None, None] for k in range(4))
    inside = (rows >= y1) & (rows < y2) & (columns >= x1) & (columns < x2)
    mixed = torch.where(inside[:, None], sources, features)
    return mixed, boxes.int(), lam
