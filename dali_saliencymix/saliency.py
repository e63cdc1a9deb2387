"""The saliency step of the pipeline: ``fn.fine_grained_saliency`` with a documented wrapper."""

from __future__ import annotations

from typing import Any

from nvidia.dali import fn, types
from nvidia.dali.data_node import DataNode

from dali_saliencymix._plugin import load_plugin


def fine_grained_saliency(
    images: DataNode,
    *,
    dtype: types.DALIDataType = types.UINT8,
    output_peak: bool = False,
    device: str | None = None,
    **kwargs: Any,
) -> DataNode | tuple[DataNode, DataNode]:
    """OpenCV's fine-grained static saliency map of each image, inside a DALI pipeline.

    Equal, bit for bit, to ``cv2.saliency.StaticSaliencyFineGrained_create().computeSaliency``
    on the BGR copy of each image, on the CPU and on the GPU.

    Args:
        images: uint8 images, ``HWC`` RGB (C=3) or one-channel (``HW``, or ``HWC`` with C=1), for
            example the output of ``fn.decoders.image``; each sample may have its own size.
        dtype: ``types.UINT8`` (default) for the map as OpenCV's values times 255, or
            ``types.FLOAT`` for OpenCV's own float32 values ``k / 255``.
        output_peak: also return, per sample, the ``(y, x)`` of the first maximum of the map in
            row-major order (int32, shape ``(2,)``): where SaliencyMix centres its patch.
        device: ``"cpu"`` or ``"gpu"``; by default, where ``images`` are.
        **kwargs: passed to the operator (e.g. ``name``).

    Returns:
        The ``HW`` maps, and the peaks when ``output_peak`` is true.

    """
    load_plugin()
    return fn.fine_grained_saliency(
        images, dtype=dtype, output_peak=output_peak, device=device, **kwargs
    )
