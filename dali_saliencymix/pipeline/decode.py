"""Decode and resize: encoded files to uint8 RGB HWC images at the model's size (DALI graph)."""

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


def resize(
    images: DataNode,
    *,
    size: tuple[int, int] | None = None,
    at_least: int | tuple[int, int] | None = None,
    interpolation: types.DALIInterpType = types.INTERP_LINEAR,
) -> DataNode:
    """Graph step: resize to `size`, or keeping the aspect ratio to cover `at_least`.

    `size` (height, width) is the exact output; `at_least` an int is the shorter side, a
    (height, width) the smallest output that covers both (DALI's ``mode="not_smaller"``).
    """
    if size is not None:
        return fn.resize(images, resize_y=size[0], resize_x=size[1], interp_type=interpolation)
    if isinstance(at_least, int):
        return fn.resize(images, resize_shorter=at_least, interp_type=interpolation)
    return fn.resize(images, size=list(at_least), mode="not_smaller", interp_type=interpolation)
