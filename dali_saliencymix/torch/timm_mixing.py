"""timm's mixing for the drop-ins (``dali_saliencymix.timm``): its draws and its pixel arithmetic.

- :func:`timm_plan`: the draws of a timm ``Mixup`` for one batch, made by its own methods and
  numpy's global generator in timm's order, as the kernels' :class:`MixDraws` (timm's random
  boxes as the uniform draws that give them);
- :func:`mix_float_in_place` and :func:`mix_uint8`: a batch mixed with the kernels' boxes and
  timm's own expressions (``Mixup``'s on float batches, ``FastCollateMixup``'s on uint8 ones), so
  that with timm's boxes the values are timm's;
- :func:`to_uint8_nhwc`: the uint8 images a normalised float batch came from.

No timm import here: the mixer is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from dali_saliencymix.numpy import MixDraws
from dali_saliencymix.options import MixConfig


def _randint(low: int, high: int) -> int:
    """A draw of numpy's global ``randint``, as timm's ``rand_bbox`` makes it (timm's generator)."""
    return int(np.random.randint(low, high))


def _uniform(index: int, count: int) -> float:
    """The uniform draw u whose ``floor(u * count)`` is `index`: the kernels' rule for a box."""
    return (index + 0.5) / count


@dataclass
class Plan:
    """One batch's draws: for the kernels, and timm's MixUp weights for the float blend."""

    draws: MixDraws
    mixup: np.ndarray  # bool (N,): the samples that are MixUp events
    cutmix: np.ndarray  # bool (N,): the samples that are CutMix events
    lam: list  # per sample, timm's own lam (a float in batch mode, np.float32 otherwise)
    per_batch: bool  # one draw for the batch (timm's _mix_batch)

    def peak_sources(self) -> np.ndarray:
        """The images whose saliency peak the kernels use (the sources of CutMix events)."""
        if self.per_batch:
            return self.draws.source[:1] if self.cutmix[0] else self.draws.source[:0]
        return np.unique(self.draws.source[self.cutmix])


def timm_plan(mixer: Any, n: int, height: int, width: int, options: MixConfig) -> Plan:
    """The draws of timm's `mixer` for a batch of `n` (its own methods, its order).

    `mixer` is a timm ``Mixup`` or ``FastCollateMixup`` (its ``_params_per_batch`` and
    ``_params_per_elem`` draw, honouring its ``mixup_enabled``); the random boxes are drawn as
    timm's ``rand_bbox`` and ``rand_bbox_minmax`` draw them, and handed to the kernels as the
    uniform draws that give the same box.
    """
    if mixer.mode == "batch":
        lam, cut = mixer._params_per_batch()
        lams, cuts, group = [lam], np.array([cut]), np.zeros(n, np.int64)
    else:
        m = n if mixer.mode == "elem" else n // 2
        lam_array, cuts = mixer._params_per_elem(m)
        lams = list(lam_array)
        i = np.arange(n)
        group = np.minimum(i, n - 1 - i) if mixer.mode == "pair" else i
        if mixer.mode == "half":  # the second half only gives sources: a group that never mixes
            lams, cuts = [*lams, np.float32(1.0)], np.append(cuts, False)
            group = np.minimum(i, m)
    apply = np.array([lam != 1.0 for lam in lams])
    cuts = np.asarray(cuts, bool) & apply
    box = _box_draws(cuts, height, width, options)
    return Plan(
        draws=MixDraws(
            source=np.arange(n - 1, -1, -1, dtype=np.int32),  # timm mixes i with N-1-i
            lam=np.array(lams, np.float32)[group],
            apply=apply[group].astype(np.uint8),
            cutmix=cuts[group].astype(np.uint8),
            box=None if box is None else box[group],
        ),
        mixup=(apply & ~cuts)[group],
        cutmix=cuts[group],
        lam=[lams[g] for g in group],
        per_batch=mixer.mode == "batch",
    )


def _box_draws(cuts: np.ndarray, height: int, width: int, options: MixConfig) -> np.ndarray | None:
    """The ``randint`` calls of timm's boxes, CutMix event by event, as the kernels' draws."""
    if not options.uses_box_draws:
        return None
    box = np.zeros((len(cuts), 4), np.float32)
    random_place = options.box == "random"
    for g in np.flatnonzero(cuts):
        if options.cutmix_minmax is None:  # timm's rand_bbox: the centre
            box[g, :2] = (
                _uniform(_randint(0, height), height),
                _uniform(_randint(0, width), width),
            )
            continue
        low, high = options.cutmix_minmax  # timm's rand_bbox_minmax: the sides, the corner
        sides = []
        for size, u in ((height, 0), (width, 1)):
            lo, hi = int(size * low), int(size * high)
            side = _randint(lo, hi)
            box[g, u] = _uniform(side - lo, hi - lo)
            sides.append(side)
        if random_place:
            for size, side, u in ((height, sides[0], 2), (width, sides[1], 3)):
                box[g, u] = _uniform(_randint(0, size - side + 1), size - side + 1)
    return box


def to_uint8_nhwc(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """The uint8 NHWC images that normalised float NCHW ones came from (rounded, clipped)."""
    scale = torch.tensor([s * 255 for s in std], device=x.device).view(1, -1, 1, 1)
    shift = torch.tensor([m * 255 for m in mean], device=x.device).view(1, -1, 1, 1)
    pixels = torch.addcmul(shift, x.detach().float(), scale)
    return pixels.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def mix_float_in_place(x: torch.Tensor, boxes: np.ndarray, plan: Plan) -> torch.Tensor:
    """Mix the float batch in place as timm's ``Mixup`` does, with the kernels' boxes.

    Sample i takes its partner N-1-i's pixels inside its box (CutMix), or is blended with it by
    timm's own weights and expressions (MixUp), so that with timm's boxes the values are timm's.
    """
    if not plan.draws.apply.any():
        return x
    if plan.per_batch:  # timm's _mix_batch
        if plan.mixup[0]:
            lam = plan.lam[0]
            x_flipped = x.flip(0).mul_(1.0 - lam)
            x.mul_(lam).add_(x_flipped)
        else:
            y1, x1, y2, x2 = boxes[0]
            x[:, :, y1:y2, x1:x2] = x[:, :, y1:y2, x1:x2].flip(0)
        return x
    orig = x.clone()  # timm's _mix_elem and _mix_pair, sample by sample
    n = len(x)
    for i in np.flatnonzero(plan.draws.apply):
        lam, j = plan.lam[i], n - 1 - i
        if plan.mixup[i]:
            x[i] = x[i] * lam + orig[j] * (1 - lam)
        else:
            y1, x1, y2, x2 = boxes[i]
            x[i, :, y1:y2, x1:x2] = orig[j, :, y1:y2, x1:x2]
    return x


def mix_uint8(images: np.ndarray, boxes: np.ndarray, plan: Plan) -> np.ndarray:
    """The mixed uint8 NCHW batch, as timm's ``FastCollateMixup`` mixes numpy samples.

    CutMix copies the partner's (N-1-i) box; MixUp blends in float32 with timm's weights and
    rounds half to even (``np.rint``), timm's expressions, so that the values are timm's.
    """
    out = images.copy()
    n = len(images)
    for i in np.flatnonzero(plan.draws.apply):
        lam, j = plan.lam[i], n - 1 - i
        if plan.mixup[i]:
            blend = images[i].astype(np.float32) * lam + images[j].astype(np.float32) * (1 - lam)
            out[i] = np.rint(blend)
        else:
            y1, x1, y2, x2 = boxes[i]
            out[i, :, y1:y2, x1:x2] = images[j, :, y1:y2, x1:x2]
    return out
