"""Normalise: flip, the model's mean and std, float32 CHW or HWC, a DALI graph step."""

from __future__ import annotations

from collections.abc import Sequence

from nvidia.dali import fn, types
from nvidia.dali.data_node import DataNode

from dali_saliencymix.normalisation import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from dali_saliencymix.pipeline.data_config import mean_std_255


def normalise(
    images: DataNode,
    *,
    channels_last: bool = False,
    mirror: DataNode | bool = False,
    crop: tuple[int, int] | None = None,
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    std: Sequence[float] = IMAGENET_DEFAULT_STD,
) -> DataNode:
    """Graph step: (centre crop to (height, width),) flip, ``(x / 255 - mean) / std``, float32.

    `mean` and `std` are fractions of 255, as timm gives them (one or three values).
    """
    mean_255, std_255 = mean_std_255(mean, std, "normalise")
    kwargs: dict[str, object] = {"crop": tuple(crop)} if crop is not None else {}
    return fn.crop_mirror_normalize(
        images,
        dtype=types.FLOAT,
        output_layout="HWC" if channels_last else "CHW",
        mirror=mirror,
        mean=mean_255,
        std=std_255,
        **kwargs,
    )
