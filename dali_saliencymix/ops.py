"""The DALI graph of this package's operators, with DALI's own random draws.

- :func:`fine_grained_saliency`: ``fn.fine_grained_saliency``, OpenCV's saliency map (and peak);
- :func:`mix`: ``fn.saliency_mix`` fed by DALI's random operators: timm's ``Mixup`` (MixUp,
  CutMix, the switch, elem/pair/batch modes, label smoothing) with SaliencyMix's box;
- :func:`saliency_mix`: the SaliencyMix paper's preset of :func:`mix`.

Every draw (pairs, lams, coin flips, the MixUp/CutMix switch, box places) comes from a DALI
random operator as an argument input, so the C++ operator is a deterministic function of its
inputs and pipeline checkpoints restore identical batches.
"""

from __future__ import annotations

from typing import Any

from nvidia.dali import fn, types
from nvidia.dali.data_node import DataNode

from dali_saliencymix._native.plugin import load_plugin
from dali_saliencymix.options import MixConfig, resolve_options, saliency_mix_options


def fine_grained_saliency(
    images: DataNode,
    *,
    dtype: types.DALIDataType = types.UINT8,
    output_peak: bool = False,
    device: str | None = None,
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

    Returns:
        The ``HW`` maps, and the peaks when ``output_peak`` is true.

    """
    load_plugin()
    return fn.fine_grained_saliency(images, dtype=dtype, output_peak=output_peak, device=device)


def mix(
    images: DataNode,
    labels: DataNode,
    options: MixConfig | None = None,
    *,
    seed: int | None = None,
    return_info: bool = False,
    enabled: DataNode | None = None,
    device: str | None = None,
    **fields: Any,
) -> tuple[DataNode, ...]:
    """MixUp / CutMix / SaliencyMix inside a DALI pipeline, with timm's ``Mixup`` semantics.

    Put it after cropping/resizing (one image size per batch) and before normalisation::

        images = fn.resize(images, size=(224, 224))
        images, labels = dali_saliencymix.mix(images, labels, num_classes=1000)
        images = fn.crop_mirror_normalize(images, ...)

    The options are ``MixConfig``'s fields, with its names and defaults (SaliencyMix: CutMix
    with the box on the source's saliency peak, one draw per batch, i mixed with N-1-i, no
    smoothing); ``mixup_alpha=0.8, cutmix_alpha=1.0, box="random"`` is timm's DeiT recipe.
    ``mode="batch"`` computes the saliency of one source and pastes one box into the whole batch,
    as the SaliencyMix paper's released code (its ImageNet numbers come from it); ``"elem"``
    gives each sample its own box. ``placement="target_background"`` is the paper's "Salient to
    Non-Salient" scheme, which its ablation (Figure 3, CIFAR) found to train worse than the
    default "Salient to Corresponding" (``"source_peak"``).
    MixUp rounds to the nearest uint8 (ties to even), as timm's ``FastCollateMixup``.

    Args:
        images: uint8 images (HWC RGB, HWC with C=1, or HW), all of one size, CPU or GPU.
        labels: integer class ids (scalar or shape (1,)) or float soft vectors of length
            ``num_classes``; kept on the host.
        options: the options as a ``MixConfig``; or give its fields as keywords.
        seed: seed of the random operators (operator k gets ``seed + k``: 0 permutation,
            1 CutMix lam, 2 coin flip, 3 MixUp lam, 4 switch, 5 box draws); by default derived
            from the pipeline's seed.
        return_info: also return the per-sample box (int32 ``[y1, x1, y2, x2]`` in the source,
            zeros when none), the target weight lam (float32) and the source index (int32);
            with ``placement="target_background"`` also the box where the patch went.
        enabled: optional per-sample flags (0 or 1, any integer or bool type) multiplied into
            the coin flips, e.g. a switch that turns mixing off from an epoch on (the factories'
            ``MixSwitch``).
        device: ``"cpu"`` or ``"gpu"``; by default where the images are.
        **fields: ``MixConfig``'s fields (``num_classes``, ``mixup_alpha``, ``cutmix_alpha``,
            ``cutmix_minmax``, ``prob``, ``switch_prob``, ``mode``, ``correct_lam``,
            ``label_smoothing``, ``box``, ``pairing``, ``placement``, ``label_weights``), when
            ``options`` is not given.

    Returns:
        ``(images, labels)``, ``(images, labels, boxes, lams, sources)``, or with
        ``placement="target_background"`` ``(images, labels, boxes, lams, sources, dest_boxes)``.

    """
    options = resolve_options(options, fields, "mix")
    return _mix(images, labels, options, seed, return_info, enabled, device)


def saliency_mix(
    images: DataNode,
    labels: DataNode,
    options: MixConfig | None = None,
    *,
    alpha: float | None = None,
    seed: int | None = None,
    return_info: bool = False,
    enabled: DataNode | None = None,
    device: str | None = None,
    **fields: Any,
) -> tuple[DataNode, ...]:
    """SaliencyMix, the paper's preset of :func:`mix`: mixed images and float32 soft labels.

    CutMix only, its box centred on the source's saliency peak, random partners
    (``pairing="permutation"``, from ``fn.batch_permutation``), one draw per batch
    (``mode="batch"``, as the paper's released code, from which its ImageNet numbers come;
    ``mode="elem"`` gives each sample its own box on its own source's peak). Other options as
    :func:`mix` (``num_classes``, ``cutmix_alpha``, ``prob``, ``mode``, ``label_smoothing``,
    ``correct_lam``, ``placement``, ``label_weights``); ``mixup_alpha`` and ``box`` are fixed.
    ``alpha`` is the former name of ``cutmix_alpha``, still accepted.

    Returns:
        As :func:`mix`.

    """
    options = saliency_mix_options(options, fields, "saliency_mix", alpha)
    return _mix(images, labels, options, seed, return_info, enabled, device)


def _mix(
    images: DataNode,
    labels: DataNode,
    options: MixConfig,
    seed: int | None,
    return_info: bool,
    enabled: DataNode | None,
    device: str | None,
) -> tuple[DataNode, ...]:
    """``fn.saliency_mix`` with the options as its arguments and the draws as argument inputs."""
    load_plugin()
    # The content-aware options are passed only when they differ from the operator's defaults.
    content = {
        name: getattr(options, name)
        for name, default in (("placement", "source_peak"), ("label_weights", "area"))
        if getattr(options, name) != default
    }
    if options.cutmix_minmax is not None:
        content["cutmix_minmax"] = list(options.cutmix_minmax)
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
        **content,
    )
    return tuple(outputs)


def _draws(options: MixConfig, seed: int | None, enabled: DataNode | None) -> dict[str, Any]:
    """The argument inputs of ``fn.saliency_mix``: DALI's random draws for one batch.

    Operator k gets seed ``seed + k`` (0 permutation, 1 CutMix lam, 2 coin flip, 3 MixUp lam,
    4 MixUp/CutMix switch, 5 box places).
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
    if options.uses_box_draws:
        draws["box_draw"] = fn.random.uniform(range=[0.0, 1.0], shape=[4], **seeded(5))
    return draws
