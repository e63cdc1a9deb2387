"""Drop-ins for timm's ``Mixup`` and ``FastCollateMixup``, with SaliencyMix's box.

In timm's ``train.py``, one added line below its own ``from timm.data import ...`` swaps them in::

    from dali_saliencymix.timm import Mixup, FastCollateMixup

- Both subclass timm's classes, so timm's ``isinstance`` checks and ``mixup_enabled`` (what
  ``--mixup-off-epoch`` turns off) work, and take every argument of timm's class with timm's
  defaults, plus ``box``: ``"saliency"`` (the default: CutMix's box centred on the saliency peak
  of its source, SaliencyMix) or ``"random"`` (timm's own box).
- They draw as timm does: timm's own ``_params_per_batch`` / ``_params_per_elem`` and
  ``np.random.randint`` for a random box, from numpy's global generator, in timm's order. The
  boxes, the corrected weights and the soft labels then come from this package's kernels
  (``dali_saliencymix.torch.mix``), so with ``box="random"`` and the same draws both equal timm's
  own classes (``tests/test_timm_reference.py``).
- :class:`Mixup` takes normalised float NCHW batches (float32, float16 or bfloat16; CPU or CUDA):
  the saliency is computed on the uint8 image the normalisation came from,
  ``round(x * std + mean)`` clipped to [0, 255] with ``mean``/``std`` in timm's units (timm's
  ImageNet values by default: pass the model's data config when it has others); the pasted and
  blended pixels are the float ones, blended as timm's ``Mixup`` blends them.
- :class:`FastCollateMixup` collates uint8 CHW samples (numpy arrays or tensors) into a mixed
  uint8 NCHW batch, as timm's does.

Importing this module imports timm; ``import dali_saliencymix`` does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate

from dali_saliencymix.normalisation import mean_std
from dali_saliencymix.numpy import MixDraws
from dali_saliencymix.options import MixConfig, OptionError, resolve_options
from dali_saliencymix.torch.tensor_mix import mix as tensor_mix

try:
    from timm.data import mixup as _timm
    from timm.data.constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
except Exception as err:  # not installed, or timm's own imports fail (e.g. torchvision)
    raise ImportError(
        "dali_saliencymix.timm subclasses timm's Mixup and FastCollateMixup, so it needs timm "
        f"(pip install timm), and importing timm failed: {type(err).__name__}: {err}. The rest "
        "of dali_saliencymix works without timm."
    ) from err

MODES = ("batch", "pair", "elem")


def _randint(low: int, high: int) -> int:
    """A draw of numpy's global ``randint``, as timm's ``rand_bbox`` makes it (timm's generator)."""
    return int(np.random.randint(low, high))


def _uniform(index: int, count: int) -> float:
    """The uniform draw u whose ``floor(u * count)`` is `index`: the kernels' rule for a box."""
    return (index + 0.5) / count


@dataclass
class _Plan:
    """One batch's draws: for the kernels, and timm's MixUp weights for the float blend."""

    draws: MixDraws
    mixup: np.ndarray  # bool (N,): the samples that are MixUp events
    lam: list  # per sample, timm's own lam (a float in batch mode, np.float32 otherwise)
    per_batch: bool  # one draw for the batch (timm's _mix_batch)


class _DropIn:
    """What both drop-ins add to timm's class: the box option, the options and the draws."""

    box: str
    _who: str

    def _options(self) -> MixConfig:
        """The kernels' options for timm's current attributes (checked; errors name the class)."""
        fields = {
            "num_classes": self.num_classes,
            "mixup_alpha": self.mixup_alpha,
            "cutmix_alpha": self.cutmix_alpha,
            "cutmix_minmax": self.cutmix_minmax,
            "prob": self.mix_prob,
            "switch_prob": self.switch_prob,
            "mode": "elem" if self.mode == "half" else self.mode,
            "correct_lam": self.correct_lam,
            # Multi-label targets are smoothed towards 0.5 here, before the kernels (timm's rule).
            "label_smoothing": 0.0 if self.multi_label else self.label_smoothing,
            "box": self.box,
        }
        return resolve_options(None, fields, self._who)

    def _plan(self, n: int, height: int, width: int, options: MixConfig) -> _Plan:
        """The draws of timm's class for a batch of `n` (its methods, its order), as MixDraws."""
        if self.mode == "batch":
            lam, cut = self._params_per_batch()
            lams, cuts, group = [lam], np.array([cut]), np.zeros(n, np.int64)
        else:
            m = n if self.mode == "elem" else n // 2
            lam_array, cuts = self._params_per_elem(m)
            lams = list(lam_array)
            i = np.arange(n)
            group = np.minimum(i, n - 1 - i) if self.mode == "pair" else i
            if self.mode == "half":  # the second half only gives sources: a group that never mixes
                lams, cuts = [*lams, np.float32(1.0)], np.append(cuts, False)
                group = np.minimum(i, m)
        apply = np.array([lam != 1.0 for lam in lams])
        cuts = np.asarray(cuts, bool) & apply
        box = self._box_draws(cuts, height, width, options)
        return _Plan(
            draws=MixDraws(
                source=np.arange(n - 1, -1, -1, dtype=np.int32),  # timm mixes i with N-1-i
                lam=np.array(lams, np.float32)[group],
                apply=apply[group].astype(np.uint8),
                cutmix=cuts[group].astype(np.uint8),
                box=None if box is None else box[group],
            ),
            mixup=(apply & ~cuts)[group],
            lam=[lams[g] for g in group],
            per_batch=self.mode == "batch",
        )

    def _box_draws(
        self, cuts: np.ndarray, height: int, width: int, options: MixConfig
    ) -> np.ndarray | None:
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

    def _targets(self, target: torch.Tensor) -> torch.Tensor:
        """Class ids as they are; multi-label targets smoothed towards 0.5, as timm does."""
        if not self.multi_label:
            return target
        if target.ndim != 2 or target.shape[1] != self.num_classes:
            raise ValueError(
                f"{self._who}: multi_label expects dense targets of shape (batch, "
                f"{self.num_classes}), got {tuple(target.shape)}"
            )
        return target.float() * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing

    def _check_batch(self, n: int) -> None:
        if n % 2:
            raise ValueError(f"{self._who}: the batch size must be even (as timm's), got {n}")


def _timm_kwargs(multi_label: bool, **kwargs: Any) -> dict[str, Any]:
    """The arguments of timm's class; ``multi_label`` only when set (older timm lacks it)."""
    return {**kwargs, "multi_label": True} if multi_label else kwargs


class Mixup(_DropIn, _timm.Mixup):
    """timm's ``Mixup`` on normalised float NCHW batches, with SaliencyMix's box by default.

    ``x, target = mixup_fn(x, target)`` as timm's: `x` float32, float16 or bfloat16 (N, C, H, W)
    on the CPU or a CUDA device, normalised with `mean` and `std` (timm's units: fractions of
    255); `target` class ids (N,), or dense (N, num_classes) with ``multi_label``. Returns new
    tensors (timm's mixes `x` in place): the mixed batch in `x`'s dtype and float32 soft targets.

    Every argument of timm's class with timm's defaults (``label_smoothing=0.1``: leave the loss
    without smoothing), plus `box` (``"saliency"`` or ``"random"``, timm's own box) and the
    `mean` and `std` the batch was normalised with. For bfloat16 batches the uint8 copy that
    the saliency is computed on can be a level off (bfloat16 keeps 8 bits). In elem and pair
    modes timm's own targets use the weights rounded to `x`'s dtype; these use float32.
    """

    _who = "dali_saliencymix.timm.Mixup"

    def __init__(
        self,
        mixup_alpha: float = 1.0,
        cutmix_alpha: float = 0.0,
        cutmix_minmax: Sequence[float] | None = None,
        prob: float = 1.0,
        switch_prob: float = 0.5,
        mode: str = "batch",
        correct_lam: bool = True,
        label_smoothing: float = 0.1,
        num_classes: int = 1000,
        multi_label: bool = False,
        *,
        box: str = "saliency",
        mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
        std: Sequence[float] = IMAGENET_DEFAULT_STD,
    ) -> None:
        super().__init__(
            **_timm_kwargs(
                multi_label,
                mixup_alpha=mixup_alpha,
                cutmix_alpha=cutmix_alpha,
                cutmix_minmax=cutmix_minmax,
                prob=prob,
                switch_prob=switch_prob,
                mode=mode,
                correct_lam=correct_lam,
                label_smoothing=label_smoothing,
                num_classes=num_classes,
            )
        )
        self.multi_label = multi_label
        self.box = box
        if mode not in MODES:
            raise OptionError(f"{{mode}} must be one of {MODES}, got {mode!r}", self._who)
        self.mean, self.std = mean_std(mean, std, self._who)
        self._options()  # checked now, not at the first batch

    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix a normalised float NCHW batch; returns (mixed batch, float32 soft targets)."""
        channels = (1, 3) if len(self.mean) == 1 else (3,)
        if not (x.dtype.is_floating_point and x.dim() == 4 and x.shape[1] in channels):
            raise ValueError(
                f"{self._who}: expected a normalised float NCHW batch with "
                f"{' or '.join(map(str, channels))} channels (for {len(self.mean)} mean and std "
                f"values), got {x.dtype} of shape {tuple(x.shape)}"
            )
        n, _, height, width = x.shape
        self._check_batch(n)
        target = self._targets(target)  # checked before anything is drawn
        options = self._options()
        plan = self._plan(n, height, width, options)
        pixels = _to_uint8_nhwc(x, self.mean, self.std)
        _, soft, boxes, *_ = tensor_mix(pixels, target, options, draws=plan.draws, return_info=True)
        return _paste_and_blend(x, boxes, plan), soft


class FastCollateMixup(_DropIn, _timm.FastCollateMixup):
    """timm's ``FastCollateMixup`` (a collate function), with SaliencyMix's box by default.

    Called with a list of ``(image, target)``: uint8 CHW images (numpy arrays or tensors) and
    class ids (dense targets with ``multi_label``); returns the mixed uint8 NCHW batch and
    float32 soft targets, as timm's (``mode="half"``: the first half of the batch, mixed with
    the second). Every argument of timm's class with timm's defaults, plus `box`. In batch
    mode timm blends MixUp with its double-precision lam and the kernels with its float32 value,
    so with timm's own double draws a MixUp pixel can round to the neighbouring level where the
    blend lands within float32 rounding of a half; given float32 draws they are equal.
    """

    _who = "dali_saliencymix.timm.FastCollateMixup"

    def __init__(
        self,
        mixup_alpha: float = 1.0,
        cutmix_alpha: float = 0.0,
        cutmix_minmax: Sequence[float] | None = None,
        prob: float = 1.0,
        switch_prob: float = 0.5,
        mode: str = "batch",
        correct_lam: bool = True,
        label_smoothing: float = 0.1,
        num_classes: int = 1000,
        multi_label: bool = False,
        *,
        box: str = "saliency",
    ) -> None:
        super().__init__(
            **_timm_kwargs(
                multi_label,
                mixup_alpha=mixup_alpha,
                cutmix_alpha=cutmix_alpha,
                cutmix_minmax=cutmix_minmax,
                prob=prob,
                switch_prob=switch_prob,
                mode=mode,
                correct_lam=correct_lam,
                label_smoothing=label_smoothing,
                num_classes=num_classes,
            )
        )
        self.multi_label = multi_label
        self.box = box
        if mode not in (*MODES, "half"):
            raise OptionError(
                f"{{mode}} must be one of {(*MODES, 'half')}, got {mode!r}", self._who
            )
        self._options()

    def __call__(self, batch: Sequence[tuple[Any, Any]], _: object = None) -> tuple:
        """Collate and mix; returns (uint8 NCHW batch, float32 soft targets)."""
        n = len(batch)
        self._check_batch(n)
        images = [np.asarray(sample[0]) for sample in batch]
        if any(
            im.dtype != np.uint8 or im.ndim != 3 or im.shape != images[0].shape for im in images
        ):
            found = sorted({f"{im.dtype} {im.shape}" for im in images})
            raise ValueError(
                f"{self._who}: expected uint8 CHW images of one size (timm's ToNumpy), got "
                f"{', '.join(found)}"
            )
        stacked = torch.from_numpy(np.stack(images))
        target = self._targets(default_collate([sample[1] for sample in batch]))
        options = self._options()
        plan = self._plan(n, stacked.shape[2], stacked.shape[3], options)
        mixed, soft = tensor_mix(stacked, target, options, draws=plan.draws, layout="NCHW")
        if self.mode == "half":
            return mixed[: n // 2].contiguous(), soft[: n // 2].contiguous()
        return mixed, soft


def _to_uint8_nhwc(
    x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]
) -> torch.Tensor:
    """The uint8 NHWC image that a normalised float NCHW batch came from (rounded, clipped)."""
    scale = torch.tensor([s * 255 for s in std], dtype=torch.float32, device=x.device)
    shift = torch.tensor([m * 255 for m in mean], dtype=torch.float32, device=x.device)
    pixels = x.detach().permute(0, 2, 3, 1).float() * scale + shift
    return pixels.round_().clamp_(0, 255).to(torch.uint8).contiguous()


def _paste_and_blend(x: torch.Tensor, boxes: torch.Tensor, plan: _Plan) -> torch.Tensor:
    """The float batch, mixed as the kernels mixed its uint8 copy.

    CutMix boxes are pasted from the partner (i with N-1-i); MixUp is blended with timm's own
    weights and expressions.
    """
    _, _, height, width = x.shape
    partner = x.flip(0)
    rows = torch.arange(height, device=x.device)
    cols = torch.arange(width, device=x.device)
    b = boxes.to(device=x.device, dtype=torch.int64)
    in_rows = (rows >= b[:, 0:1]) & (rows < b[:, 2:3])
    in_cols = (cols >= b[:, 1:2]) & (cols < b[:, 3:4])
    inside = (in_rows[:, :, None] & in_cols[:, None, :])[:, None]
    out = torch.where(inside, partner, x)
    if not plan.mixup.any():
        return out
    if plan.per_batch:  # timm's _mix_batch: the whole batch is MixUp
        lam = plan.lam[0]
        return x * lam + partner * (1.0 - lam)
    for i in np.flatnonzero(plan.mixup):  # timm's _mix_elem / _mix_pair, sample by sample
        lam = plan.lam[i]
        out[i] = x[i] * lam + partner[i] * (1 - lam)
    return out


__all__ = ["FastCollateMixup", "Mixup"]
