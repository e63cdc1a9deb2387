"""Normalise: flip, mean/std, float32 CHW or HWC, a DALI graph step."""

from __future__ import annotations

from nvidia.dali import fn, types
from nvidia.dali.data_node import DataNode

IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)


def normalise(
    images: DataNode,
    *,
    channels_last: bool = False,
    mirror: DataNode | bool = False,
    crop: int | None = None,
) -> DataNode:
    """Graph step: (centre crop,) flip, ImageNet normalisation, float32 CHW or HWC."""
    kwargs: dict[str, object] = {"crop": (crop, crop)} if crop is not None else {}
    return fn.crop_mirror_normalize(
        images,
        dtype=types.FLOAT,
        output_layout="HWC" if channels_last else "CHW",
        mirror=mirror,
        mean=list(IMAGENET_MEAN),
        std=list(IMAGENET_STD),
        **kwargs,
    )
