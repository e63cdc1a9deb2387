"""The model's data config for the factories: input size, mean and std, interpolation.

Models bring their own: timm's ``resolve_data_config(model=model)`` gives a dict with
``input_size`` (C, H, W), ``mean`` and ``std`` (fractions of 255), ``interpolation`` (a name such
as ``"bicubic"``) and ``crop_pct``. :func:`timm_data_config` turns it into the keyword arguments
of ``train_pipeline`` or ``val_pipeline``; the checks here turn each argument into what DALI
takes (:func:`size_hw`, :func:`mean_std_255`, :func:`interpolation_type`), and say what is wrong
in the words of the function called.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from nvidia.dali import types

from dali_saliencymix.normalisation import mean_std

# timm's (and PIL's) names of the interpolations DALI's resize offers; "triangular" is DALI's.
INTERPOLATIONS = {
    "nearest": types.INTERP_NN,
    "bilinear": types.INTERP_LINEAR,
    "bicubic": types.INTERP_CUBIC,
    "lanczos": types.INTERP_LANCZOS3,
    "triangular": types.INTERP_TRIANGULAR,
}


def size_hw(size: int | Sequence[int], what: str) -> tuple[int, int]:
    """`size` as (height, width): an int is a square; a ValueError names `what` otherwise."""
    pair = (size, size) if isinstance(size, numbers.Integral) else size
    if not (
        isinstance(pair, Sequence)
        and len(pair) == 2
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair)
        and min(pair) >= 1
    ):
        raise ValueError(f"{what} must be a positive int or (height, width), got {size!r}")
    return int(pair[0]), int(pair[1])


def mean_std_255(
    mean: Sequence[float], std: Sequence[float], who: str
) -> tuple[list[float], list[float]]:
    """Mean and std for ``fn.crop_mirror_normalize`` of uint8 RGB, three values each.

    Given as fractions of 255 (one or three values each, :func:`mean_std`), returned times 255.
    """
    means, stds = mean_std(mean, std, who)
    return [m * 255 for m in means] * (3 // len(means)), [s * 255 for s in stds] * (3 // len(stds))


def interpolation_type(value: str | types.DALIInterpType, who: str) -> types.DALIInterpType:
    """DALI's interpolation for `value`: a ``types.INTERP_*`` or one of timm's names."""
    if isinstance(value, types.DALIInterpType):
        return value
    if isinstance(value, str) and value in INTERPOLATIONS:
        return INTERPOLATIONS[value]
    raise ValueError(
        f"{who}: interpolation must be nvidia.dali.types.INTERP_* or one of "
        f"{', '.join(repr(n) for n in INTERPOLATIONS)}, got {value!r}"
        + (" (timm's random choice per image is not offered)" if value == "random" else "")
    )


def timm_data_config(config: Mapping[str, Any], *, training: bool = True) -> dict[str, Any]:
    """Keyword arguments of ``train_pipeline`` (or ``val_pipeline``) for timm's data config.

    `config` is what ``timm.data.resolve_data_config(model=model)`` returns: ``input_size``
    (C, H, W) gives ``crop`` (H, W); ``mean``, ``std`` and ``interpolation`` are passed on; for
    validation, ``crop_pct`` gives ``resize`` as timm's centre-crop evaluation does (the shorter
    side ``floor(size / crop_pct)`` for a square input, else both sides, keeping the aspect ratio).
    """
    who = "timm_data_config"
    try:
        channels, height, width = config["input_size"]
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"{who}: expected timm's data config, a dict with input_size (C, H, W), mean, std "
            f"and interpolation (timm.data.resolve_data_config), got {config!r}"
        ) from None
    if channels != 3:
        raise ValueError(
            f"{who}: the pipelines decode RGB, so input_size needs C = 3, got {channels}"
        )
    kwargs: dict[str, Any] = {"crop": (int(height), int(width))}
    for key in ("mean", "std", "interpolation"):
        if key in config:
            kwargs[key] = config[key]
    if not training:
        crop_mode = config.get("crop_mode", "center")
        if crop_mode != "center":
            raise ValueError(f"{who}: crop_mode {crop_mode!r} is not offered, only 'center'")
        crop_pct = float(config.get("crop_pct", 0.875))
        sides = (math.floor(height / crop_pct), math.floor(width / crop_pct))
        kwargs["resize"] = sides[0] if height == width else sides
    return kwargs
