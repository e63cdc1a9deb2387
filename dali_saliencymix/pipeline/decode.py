"""Decode: encoded files to uint8 RGB HWC images, on the GPU or the CPU, a DALI graph step."""

from __future__ import annotations

from nvidia.dali import fn, types
from nvidia.dali.data_node import DataNode


def decode(
    encoded: DataNode,
    *,
    device: str = "cpu",
    random_area: tuple[float, float] | None = None,
    to_gpu: bool = False,
) -> DataNode:
    """Graph step: decode to uint8 RGB HWC, on the GPU (``"mixed"``) or the CPU.

    With `random_area`, only a random crop window is decoded (area fraction in that range,
    aspect ratio 3/4 to 4/3, as ``RandomResizedCrop``). `to_gpu` moves CPU-decoded images to the
    GPU for the following steps.
    """
    if random_area is not None:
        images = fn.decoders.image_random_crop(
            encoded,
            device=device,
            output_type=types.RGB,
            random_area=list(random_area),
            random_aspect_ratio=[0.75, 4.0 / 3.0],
            num_attempts=100,
        )
    else:
        images = fn.decoders.image(encoded, device=device, output_type=types.RGB)
    if to_gpu and device == "cpu":
        images = images.gpu()
    return images
