"""The mean and std of a normalisation, in timm's units (fractions of 255), checked once.

Used where images are normalised (the pipeline factories) and where a normalised batch is taken
back to its uint8 pixels (``dali_saliencymix.timm.Mixup``). No DALI, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

# timm's and torchvision's ImageNet statistics, as fractions of 255.
IMAGENET_DEFAULT_MEAN = (0.485, 0.456, 0.406)
IMAGENET_DEFAULT_STD = (0.229, 0.224, 0.225)


def mean_std(
    mean: Sequence[float], std: Sequence[float], who: str
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Check `mean` and `std`, in timm's units: fractions of 255, one or three values each.

    Means must lie in [0, 1] and stds in (0, 1]; a single value is repeated to match three. A
    ValueError names `who` and says what was expected.
    """
    try:
        means, stds = (tuple(float(v) for v in values) for values in (mean, std))
    except (TypeError, ValueError):
        means, stds = (), ()
    fractions = all(0.0 <= m <= 1.0 for m in means) and all(0.0 < s <= 1.0 for s in stds)
    if not (fractions and {len(means), len(stds)} <= {1, 3} and means and stds):
        raise ValueError(
            f"{who}: mean and std must be one or three values (per channel), as fractions of "
            f"255 as timm gives them (ImageNet: mean={IMAGENET_DEFAULT_MEAN}, "
            f"std={IMAGENET_DEFAULT_STD}), got mean={mean!r}, std={std!r}"
        )
    count = max(len(means), len(stds))
    return means * (count // len(means)), stds * (count // len(stds))
