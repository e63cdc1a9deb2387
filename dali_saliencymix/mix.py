"""The mixing step of the pipeline: ``fn.saliency_mix`` with DALI's own random draws."""

from __future__ import annotations

from typing import Any

from nvidia.dali import fn, types
from nvidia.dali.data_node import DataNode

from dali_saliencymix._plugin import load_plugin
from dali_saliencymix.mix_options import MixConfig


def saliency_mix(
    images: DataNode,
    labels: DataNode,
    *,
    num_classes: int,
    alpha: float = 1.0,
    prob: float = 1.0,
    mode: str = "elem",
    label_smoothing: float = 0.0,
    correct_lam: bool = True,
    seed: int | None = None,
    return_info: bool = False,
    enabled: DataNode | None = None,
    device: str | None = None,
    **kwargs: Any,
) -> tuple[DataNode, ...]:
    """SaliencyMix inside a DALI pipeline: mixed images and float32 soft labels.

    Put it after cropping/resizing (one image size per batch) and before normalisation::

        images = fn.random_resized_crop(images, size=224)
        images, labels = dali_saliencymix.saliency_mix(images, labels, num_classes=1000)
        images = fn.crop_mirror_normalize(images, ...)

    The pairing (``fn.batch_permutation``), the target weights (``fn.random.beta``) and the coin
    flips (``fn.random.coin_flip``) are drawn by DALI's random operators and passed to the C++
    operator as argument inputs, so pipeline checkpoints restore the same following batches.

    Args:
        images: uint8 images (HWC RGB, HWC with C=1, or HW), all of one size, CPU or GPU.
        labels: integer class ids (scalar or shape (1,), as ``fn.readers.file`` gives) or float
            one-hot/soft vectors of length ``num_classes``; kept on the host.
        num_classes: number of classes (length of the soft labels).
        alpha: lam ~ Beta(alpha, alpha) (timm's ``cutmix_alpha``); must be > 0.
        prob: probability of mixing a sample (``mode="elem"``) or the batch (``"batch"``).
        mode: ``"elem"``: each sample its own coin flip, lam and box centred on its own source's
            saliency peak (the paper). ``"batch"``: one coin flip, one lam, one box from the
            saliency of the source of sample 0, used for every pair (the official code; unlike
            it, the saliency is computed on the real uint8 pixels, not on normalised floats).
        label_smoothing: timm's label smoothing, in [0, 1), applied before mixing.
        correct_lam: lam = 1 - box area / image area after the box is clipped (timm's
            ``correct_lam``); otherwise the sampled lam.
        seed: seed of the three random operators (they get ``seed``, ``seed + 1``,
            ``seed + 2``); by default derived from the pipeline's seed.
        enabled: optional per-sample flags (0 or 1, any integer or bool type) multiplied into
            the coin flips, e.g. from an external source that switches mixing off from a given
            epoch.
        return_info: also return the per-sample box (int32 ``[y1, x1, y2, x2]``, empty when not
            mixed), the target weight lam (float32) and the source index (int32).
        device: ``"cpu"`` or ``"gpu"``; by default where the images are.
        **kwargs: passed to ``fn.saliency_mix``.

    Returns:
        ``(images, labels)`` or ``(images, labels, boxes, lams, sources)``.

    """
    options = MixConfig(
        num_classes=num_classes,
        alpha=alpha,
        prob=prob,
        mode=mode,
        label_smoothing=label_smoothing,
        correct_lam=correct_lam,
    )
    load_plugin()

    def seeded(offset: int) -> dict[str, int]:
        return {} if seed is None else {"seed": seed + offset}

    source = fn.batch_permutation(**seeded(0))
    lam = fn.random.beta(alpha=options.alpha, beta=options.alpha, **seeded(1))
    apply = fn.random.coin_flip(probability=options.prob, dtype=types.INT32, **seeded(2))
    if enabled is not None:
        apply = apply * fn.cast(enabled, dtype=types.INT32)
    outputs = fn.saliency_mix(
        images,
        labels,
        source=source,
        lam=lam,
        apply=apply,
        num_classes=options.num_classes,
        mode=options.mode,
        label_smoothing=options.label_smoothing,
        correct_lam=options.correct_lam,
        output_mix_info=return_info,
        device=device,
        **kwargs,
    )
    return tuple(outputs)
