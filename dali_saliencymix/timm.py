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
  (``dali_saliencymix.torch.mix``, on a uint8 batch in which only the images whose saliency peak
  is used are filled in), and the pixels are pasted and blended with timm's own expressions, so
  with ``box="random"`` and the same draws both equal timm's own classes
  (``tests/test_timm_reference.py``).
- :class:`Mixup` takes normalised float NCHW batches (float32, float16 or bfloat16; CPU or CUDA):
  the saliency is computed on the uint8 image the normalisation came from,
  ``round(x * std + mean)`` clipped to [0, 255] with ``mean``/``std`` in timm's units (timm's
  ImageNet values by default: pass the model's data config when it has others); the pasted and
  blended pixels are the float ones, mixed in place as timm's ``Mixup`` mixes them.
- :class:`FastCollateMixup` collates uint8 CHW samples (numpy arrays or tensors) into a mixed
  uint8 NCHW batch, as timm's does.

Importing this module imports timm; ``import dali_saliencymix`` does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate

from dali_saliencymix.normalisation import mean_std
from dali_saliencymix.options import MixConfig, OptionError, resolve_options
from dali_saliencymix.torch.tensor_mix import mix_as
from dali_saliencymix.torch.timm_mixing import (
    Plan,
    mix_float_in_place,
    mix_uint8,
    timm_plan,
    to_uint8_nhwc,
)

try:
    from timm.data import mixup as _timm
    from timm.data.constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
except Exception as err:  # not installed, or timm's own imports fail (e.g. torchvision)
    raise ImportError(
        "dali_saliencymix.timm subclasses timm's Mixup and FastCollateMixup, so it needs timm "
        f"(pip install timm), and importing timm failed: {type(err).__name__}: {err}. The rest "
        "of dali_saliencymix works without timm."
    ) from err


class _DropIn:
    """What both drop-ins add to timm's class: the box, the options, the kernels' results."""

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

    def _boxes_and_targets(
        self,
        shape: tuple[int, int, int, int],
        device: torch.device,
        peak_images: Callable[[np.ndarray], torch.Tensor],
        target: torch.Tensor,
        plan: Plan,
        options: MixConfig,
    ) -> tuple[np.ndarray, torch.Tensor]:
        """The kernels' boxes (on the host) and soft targets for the plan's draws.

        The kernels run on a uint8 NHWC batch `shape` in which only the images whose saliency
        peak they use are filled in (``peak_images(indices)``: those images, uint8 NHWC): the
        boxes, weights and labels depend on nothing else. The pixels are then mixed by the
        caller, with timm's own expressions.
        """
        pixels = torch.zeros(shape, dtype=torch.uint8, device=device)
        needed = plan.peak_sources() if self.box == "saliency" else plan.draws.source[:0]
        if len(needed):
            index = torch.as_tensor(needed, dtype=torch.int64, device=device)
            pixels[index] = peak_images(needed)
        # Multi-label targets are not probabilities (the kernels refuse rows that do not sum to
        # 1): the kernels mix class 0 for the weights, and the dense targets are mixed here with
        # the kernels' arithmetic (mix/labels.h: y_t * lam + y_s * (1 - lam), float32).
        labels = torch.zeros(shape[0], dtype=torch.int64) if self.multi_label else target
        _, soft, boxes, lams, sources = mix_as(
            self._who, pixels, labels, options, plan.draws, return_info=True
        )
        if self.multi_label:
            lam = lams.to(target.device)[:, None]
            partner = target[sources.to(target.device).long()]
            soft = target * lam + partner * (1.0 - lam)
        return boxes.cpu().numpy(), soft

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
    255); `target` class ids (N,), or dense (N, num_classes) with ``multi_label``. Mixes `x` in
    place and returns it (as timm's), with float32 soft targets.

    Every argument of timm's class with timm's defaults (``label_smoothing=0.1``: leave the loss
    without smoothing), plus `box` (``"saliency"`` or ``"random"``, timm's own box) and the
    `mean` and `std` the batch was normalised with. For bfloat16 batches the uint8 copy that
    the saliency is computed on can be a level off (bfloat16 keeps 8 bits). In elem and pair
    modes timm's own targets use the weights rounded to `x`'s dtype; these use float32.
    """

    _who = "timm.Mixup"

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
        if mode == "half":  # timm's Mixup reads "half" as batch mode, without a word
            raise OptionError("{mode} 'half' is FastCollateMixup's, not Mixup's", self._who)
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
        n, channels, height, width = x.shape
        self._check_batch(n)
        target = self._targets(target)  # checked before anything is drawn
        options = self._options()
        plan = timm_plan(self, n, height, width, options)
        boxes, soft = self._boxes_and_targets(
            (n, height, width, channels),
            x.device,
            lambda index: to_uint8_nhwc(x[torch.as_tensor(index)], self.mean, self.std),
            target,
            plan,
            options,
        )
        return mix_float_in_place(x, boxes, plan), soft


class FastCollateMixup(_DropIn, _timm.FastCollateMixup):
    """timm's ``FastCollateMixup`` (a collate function), with SaliencyMix's box by default.

    Called with a list of ``(image, target)``: uint8 CHW images (numpy arrays or tensors) and
    class ids (dense targets with ``multi_label``); returns the mixed uint8 NCHW batch and
    float32 soft targets, as timm's (``mode="half"``: the first half of the batch, mixed with
    the second). Every argument of timm's class with timm's defaults, plus `box`. The kernels
    give the boxes, weights and soft targets; the pixels are mixed with timm's expressions.
    """

    _who = "timm.FastCollateMixup"

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
        self._options()  # checks the mode too ("half" is read as "elem", as timm pairs it)

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
        stacked = np.stack(images)  # N, C, H, W
        target = self._targets(default_collate([sample[1] for sample in batch]))
        n, channels, height, width = stacked.shape
        options = self._options()
        plan = timm_plan(self, n, height, width, options)
        boxes, soft = self._boxes_and_targets(
            (n, height, width, channels),
            torch.device("cpu"),
            lambda index: torch.from_numpy(
                np.ascontiguousarray(stacked[index].transpose(0, 2, 3, 1))
            ),
            target,
            plan,
            options,
        )
        mixed = torch.from_numpy(mix_uint8(stacked, boxes, plan))
        if self.mode == "half":
            return mixed[: n // 2].contiguous(), soft[: n // 2].contiguous()
        return mixed, soft


__all__ = ["FastCollateMixup", "Mixup"]
