"""The mixing step of the pipeline: ``fn.saliency_mix`` with DALI's own random draws.

``mix`` is timm's ``Mixup`` (MixUp, CutMix, the switch between them, elem/pair/batch modes,
label smoothing) inside DALI, with SaliencyMix's saliency-centred box as an option;
``saliency_mix`` is that family with CutMix only and saliency boxes, as in the paper.
"""

from __future__ import annotations

from typing import Any

from nvidia.dali import fn, types
from nvidia.dali.data_node import DataNode

from dali_saliencymix._plugin import load_plugin
from dali_saliencymix.mix_options import MixConfig


def mix(
    images: DataNode,
    labels: DataNode,
    *,
    num_classes: int,
    mixup_alpha: float = 0.0,
    cutmix_alpha: float = 1.0,
    cutmix_minmax: tuple[float, float] | None = None,
    prob: float = 1.0,
    switch_prob: float = 0.5,
    mode: str = "batch",
    correct_lam: bool = True,
    label_smoothing: float = 0.1,
    box: str = "saliency",
    pairing: str = "reverse",
    placement: str = "source_peak",
    label_weights: str = "area",
    seed: int | None = None,
    return_info: bool = False,
    enabled: DataNode | None = None,
    device: str | None = None,
    **kwargs: Any,
) -> tuple[DataNode, ...]:
    """MixUp / CutMix / SaliencyMix inside a DALI pipeline, with timm's ``Mixup`` semantics.

    Put it after cropping/resizing (one image size per batch) and before normalisation::

        images = fn.resize(images, size=(224, 224))
        images, labels = dali_saliencymix.mix(images, labels, num_classes=1000,
                                              mixup_alpha=0.8, cutmix_alpha=1.0)
        images = fn.crop_mirror_normalize(images, ...)

    The names, defaults and meanings are timm's (``timm.data.Mixup``), except that CutMix is on
    by default and its box is centred on the source's saliency peak (``box="saliency"``);
    ``box="random"`` is timm's CutMix. Every random draw (pairs, lams, coin flips, MixUp/CutMix
    switch, box places) comes from DALI's random operators as an argument input of the C++
    operator, so pipeline checkpoints restore identical batches. MixUp rounds to the nearest
    uint8 (ties to even), as timm's ``FastCollateMixup`` does (docs/algorithm.md).

    Args:
        images: uint8 images (HWC RGB, HWC with C=1, or HW), all of one size, CPU or GPU.
        labels: integer class ids (scalar or shape (1,)) or float soft vectors of length
            ``num_classes``; kept on the host.
        num_classes: length of the soft labels.
        mixup_alpha: MixUp's lam ~ Beta(mixup_alpha, mixup_alpha); 0 = no MixUp.
        cutmix_alpha: CutMix's lam ~ Beta(cutmix_alpha, cutmix_alpha); 0 = no CutMix.
        cutmix_minmax: box sides drawn from this fraction range of the image's (timm's); the
            target weight is then always the corrected one.
        prob: probability of mixing a sample (elem, pair) or the batch (batch).
        switch_prob: probability of CutMix rather than MixUp when both alphas are > 0.
        mode: ``"batch"`` (one draw for the batch), ``"pair"`` (sample i and N-1-i share one
            draw and are mixed both ways) or ``"elem"`` (each sample its own draw).
        correct_lam: CutMix's target weight is 1 - clipped box area / image area.
        label_smoothing: timm's label smoothing, applied before mixing.
        box: ``"saliency"`` (the CutMix box centred on the source's saliency peak) or
            ``"random"`` (its centre drawn uniformly, timm's ``rand_bbox``).
        pairing: ``"reverse"`` (sample i with N-1-i, as timm) or ``"permutation"`` (with
            perm[i] of ``fn.batch_permutation``).
        placement: ``"source_peak"`` (the CutMix patch goes where it was in the source, the
            paper) or ``"target_background"`` (where it covers the least of the target's
            saliency, on a fixed grid; docs/algorithm.md).
        label_weights: ``"area"`` (CutMix's weights by box area) or ``"saliency"`` (by the
            saliency each image keeps in the mixed image).
        seed: seed of the random operators (each gets ``seed + k``); by default derived from
            the pipeline's seed.
        return_info: also return the per-sample box (int32 ``[y1, x1, y2, x2]`` in the source,
            empty when none), the target weight lam (float32) and the source index (int32);
            with ``placement="target_background"`` also the box where the patch went in the
            target.
        enabled: optional per-sample flags (0 or 1, any integer or bool type) multiplied into
            the coin flips, e.g. a switch that turns mixing off from a given epoch.
        device: ``"cpu"`` or ``"gpu"``; by default where the images are.
        **kwargs: passed to ``fn.saliency_mix``.

    Returns:
        ``(images, labels)``, ``(images, labels, boxes, lams, sources)``, or with
        ``placement="target_background"`` ``(images, labels, boxes, lams, sources, dest_boxes)``.

    """
    options = MixConfig(
        num_classes=num_classes,
        mixup_alpha=mixup_alpha,
        cutmix_alpha=cutmix_alpha,
        cutmix_minmax=cutmix_minmax,
        prob=prob,
        switch_prob=switch_prob,
        mode=mode,
        correct_lam=correct_lam,
        label_smoothing=label_smoothing,
        box=box,
        pairing=pairing,
        placement=placement,
        label_weights=label_weights,
    )
    load_plugin()
    # The content-aware options are passed only when they differ from the operator's defaults.
    content = {
        name: getattr(options, name)
        for name, default in (("placement", "source_peak"), ("label_weights", "area"))
        if getattr(options, name) != default
    }
    outputs = fn.saliency_mix(
        images,
        labels,
        **_draws(options, seed, enabled),
        num_classes=options.num_classes,
        mode=options.mode,
        box=options.box,
        label_smoothing=options.label_smoothing,
        correct_lam=options.correct_lam,
        output_mix_info=return_info,
        device=device,
        **({"cutmix_minmax": list(options.cutmix_minmax)} if options.cutmix_minmax else {}),
        **content,
        **kwargs,
    )
    return tuple(outputs)


def _draws(options: MixConfig, seed: int | None, enabled: DataNode | None) -> dict[str, Any]:
    """The argument inputs of ``fn.saliency_mix``: DALI's random draws for one batch.

    Operator k gets seed ``seed + k`` (0 permutation, 1 CutMix lam, 2 coin flip, 3 MixUp lam,
    4 MixUp/CutMix switch, 5 box places), so SaliencyMix draws as it always has.
    """

    def seeded(k: int) -> dict[str, int]:
        return {} if seed is None else {"seed": seed + k}

    draws: dict[str, Any] = {}
    if options.pairing == "permutation":
        draws["source"] = fn.batch_permutation(**seeded(0))
    apply = fn.random.coin_flip(probability=options.prob, dtype=types.INT32, **seeded(2))
    if enabled is not None:
        apply = apply * fn.cast(enabled, dtype=types.INT32)
    draws["apply"] = apply
    a_cut, a_mix = options.cutmix_alpha, options.mixup_alpha
    lam_cut = fn.random.beta(alpha=a_cut, beta=a_cut, **seeded(1)) if a_cut > 0 else None
    lam_mix = fn.random.beta(alpha=a_mix, beta=a_mix, **seeded(3)) if a_mix > 0 else None
    if lam_cut is not None and lam_mix is not None:
        cutmix = fn.random.coin_flip(
            probability=options.switch_prob, dtype=types.INT32, **seeded(4)
        )
        weight = fn.cast(cutmix, dtype=types.FLOAT)
        # Exact selection: x * 1 + y * 0 == x for the finite lams in [0, 1].
        draws["lam"] = lam_cut * weight + lam_mix * (1.0 - weight)
        draws["cutmix"] = cutmix
    elif lam_mix is not None:
        draws["lam"] = lam_mix
        draws["cutmix"] = apply * 0  # MixUp only
    else:
        draws["lam"] = lam_cut
    if options.box == "random" or options.cutmix_minmax is not None:
        draws["box_draw"] = fn.random.uniform(range=[0.0, 1.0], shape=[4], **seeded(5))
    return draws


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
    placement: str = "source_peak",
    label_weights: str = "area",
    seed: int | None = None,
    return_info: bool = False,
    enabled: DataNode | None = None,
    device: str | None = None,
    **kwargs: Any,
) -> tuple[DataNode, ...]:
    """SaliencyMix inside a DALI pipeline: mixed images and float32 soft labels.

    The mixing family (``mix``) with CutMix only, boxes centred on the source's saliency peak
    and random pairs, as in the paper. Put it after cropping/resizing (one image size per
    batch) and before normalisation::

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
            saliency peak (the paper). ``"pair"``: samples i and N-1-i share one draw (pairs are
            then i and N-1-i, not random). ``"batch"``: one coin flip, one lam, one box from the
            saliency of the source of sample 0, used for every pair (the official code; unlike
            it, the saliency is computed on the real uint8 pixels, not on normalised floats).
        label_smoothing: timm's label smoothing, in [0, 1), applied before mixing.
        correct_lam: lam = 1 - box area / image area after the box is clipped (timm's
            ``correct_lam``); otherwise the sampled lam.
        placement: ``"source_peak"`` (the paper) or ``"target_background"`` (the patch goes
            where it covers the least of the target's saliency; see ``mix``).
        label_weights: ``"area"`` (the paper) or ``"saliency"`` (by the saliency each image
            keeps; see ``mix``).
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
        ``(images, labels)`` or ``(images, labels, boxes, lams, sources)``, plus the
        destination boxes with ``placement="target_background"``.

    """
    if not alpha > 0:
        raise ValueError(
            f"saliency_mix: alpha must be > 0 (lam ~ Beta(alpha, alpha)), got {alpha!r}"
        )
    return mix(
        images,
        labels,
        num_classes=num_classes,
        mixup_alpha=0.0,
        cutmix_alpha=alpha,
        prob=prob,
        mode=mode,
        label_smoothing=label_smoothing,
        correct_lam=correct_lam,
        box="saliency",
        pairing="reverse" if mode == "pair" else "permutation",
        placement=placement,
        label_weights=label_weights,
        seed=seed,
        return_info=return_info,
        enabled=enabled,
        device=device,
        **kwargs,
    )
