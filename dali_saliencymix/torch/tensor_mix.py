"""The torch front end: the mixing family on uint8 tensors, NHWC or NCHW, CPU or CUDA, no DALI.

``mix`` is timm's MixUp / CutMix (random box) and SaliencyMix (saliency box) with
``MixConfig``'s options and defaults; ``saliency_mix`` is the SaliencyMix paper's preset. CUDA
tensors are processed on the current CUDA stream (the random draws are made on the host with
numpy and copied with the launch). Semantics and outputs equal ``fn.saliency_mix``. The layout
is said, not guessed (``layout="NHWC"`` or ``"NCHW"``): a batch of 3 x 3 images, or of images 3
pixels wide, reads both ways.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch

from dali_saliencymix._native import c_api
from dali_saliencymix._text import type_name
from dali_saliencymix.numpy import DrawArrays, MixDraws, check_label_sums, label_arrays
from dali_saliencymix.numpy import draw as family_draw
from dali_saliencymix.options import MixConfig, resolve_options, saliency_mix_options

LAYOUTS = ("NHWC", "NCHW")


def draw(
    num_samples: int,
    alpha: float | None = None,
    prob: float | None = None,
    seed: int | np.random.Generator | None = None,
    *,
    options: MixConfig | None = None,
    **fields: Any,
) -> MixDraws:
    """The random draws of a batch, for :func:`saliency_mix` or, given options, for :func:`mix`.

    ``draw(n, alpha, prob, seed)`` (as in 0.1) draws for :func:`saliency_mix`, the SaliencyMix
    preset: a random permutation, lam ~ Beta(alpha, alpha) (alpha: the preset's
    ``cutmix_alpha``), coin flips of probability ``prob``. With ``options`` or ``MixConfig``'s
    fields as keywords it is ``dali_saliencymix.numpy.draw``: the family's draws for them.
    """
    if options is not None or fields:
        if alpha is not None:
            raise TypeError(
                "torch.draw: alpha belongs to the SaliencyMix form draw(n, alpha, prob, seed); "
                "with options, give cutmix_alpha"
            )
        if prob is not None:
            fields["prob"] = prob
        return family_draw(num_samples, options, seed, **fields)
    preset = {
        "cutmix_alpha": 1.0 if alpha is None else alpha,
        "prob": 1.0 if prob is None else prob,
    }
    return family_draw(num_samples, saliency_mix_options(None, preset, "torch.draw"), seed)


def mix(
    images: torch.Tensor,
    labels: torch.Tensor | np.ndarray,
    options: MixConfig | None = None,
    *,
    draws: MixDraws | None = None,
    seed: int | np.random.Generator | None = None,
    return_info: bool = False,
    layout: str = "NHWC",
    **fields: Any,
) -> tuple[torch.Tensor, ...]:
    """MixUp / CutMix / SaliencyMix of a uint8 batch (CPU or CUDA), timm's ``Mixup``.

    The options mean what ``MixConfig`` says: ``mode="batch"`` (default) computes the saliency
    of one source and pastes one box into the whole batch, as the SaliencyMix paper's released
    code (its ImageNet numbers come from it); ``placement="target_background"`` is the paper's
    "Salient to Non-Salient", which its ablation (Figure 3, CIFAR) found to train worse than the
    default.

    Args:
        images: uint8 tensor (N, H, W, C), or (N, C, H, W) with ``layout="NCHW"``, C = 1 or 3
            (RGB), on the CPU or a CUDA device.
        labels: integer class ids (N,) or (N, 1), or float soft labels (N, num_classes); a
            tensor (CPU or on the device of ``images``) or a numpy array.
        options: the mixing options; or give them as keywords (``MixConfig``'s fields, e.g.
            ``num_classes=1000, mixup_alpha=0.8, box="random"``), not both.
        draws: explicit draws (e.g. to reproduce a batch); by default drawn with timm's
            distributions for the options (``dali_saliencymix.numpy.draw``).
        seed: seed or numpy Generator for the draws.
        return_info: also return boxes (N, 4) int32 (y1, x1, y2, x2) in the source, lams (N,)
            and sources (N,); with ``placement="target_background"`` also the destination
            boxes (N, 4) int32, where each patch went in the target (zeros when none).
        layout: ``"NHWC"`` (default) or ``"NCHW"``: the layout of ``images``, and of the mixed
            images returned (contiguous).
        **fields: ``MixConfig``'s fields, when ``options`` is not given.

    Returns:
        ``(images, soft_labels)``, ``(images, soft_labels, boxes, lams, sources)``, or with
        ``placement="target_background"`` ``(images, soft_labels, boxes, lams, sources,
        dest_boxes)`` (as ``fn.saliency_mix``), on the device of ``images``. An empty batch
        (N = 0) gives empty outputs of those shapes.

    """
    options = resolve_options(options, fields, "torch.mix")
    return mix_as("torch.mix", images, labels, options, draws, seed, return_info, layout)


def saliency_mix(
    images: torch.Tensor,
    labels: torch.Tensor | np.ndarray,
    options: MixConfig | None = None,
    *,
    alpha: float | None = None,
    draws: MixDraws | None = None,
    seed: int | np.random.Generator | None = None,
    return_info: bool = False,
    layout: str = "NHWC",
    **fields: Any,
) -> tuple[torch.Tensor, ...]:
    """SaliencyMix, the paper's preset of :func:`mix` (as ``dali_saliencymix.saliency_mix``).

    CutMix only, boxes on the source's saliency peak, random partners, one draw per batch
    (``mode="batch"``: the paper's released code computes the saliency of one source per batch
    and pastes one box for the whole batch, and its ImageNet numbers come from that; ``"elem"``
    gives each sample its own box on its own source's peak). ``alpha`` is the former name of
    ``cutmix_alpha``. Arguments (``layout`` included) and outputs as :func:`mix`.
    """
    options = saliency_mix_options(options, fields, "torch.saliency_mix", alpha)
    return mix_as("torch.saliency_mix", images, labels, options, draws, seed, return_info, layout)


def mix_as(
    who: str,
    images: torch.Tensor,
    labels: torch.Tensor | np.ndarray,
    options: MixConfig,
    draws: MixDraws | None = None,
    seed: int | np.random.Generator | None = None,
    return_info: bool = False,
    layout: str = "NHWC",
) -> tuple[torch.Tensor, ...]:
    """:func:`mix` with checked options; its errors name `who`.

    `who` is the function the user called: ``torch.mix``, ``torch.saliency_mix``,
    ``timm.Mixup``, ...
    """
    images = _as_nhwc(images, layout, who)
    device = images.device
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"{who}: images must be on the CPU or a CUDA device, got {device}")
    n, h, w, c = images.shape
    labels = torch.as_tensor(labels)
    arrays = DrawArrays.of(draws if draws is not None else family_draw(n, options, seed), n, who)
    images = images.contiguous()
    out_images = torch.empty_like(images)
    out_labels = torch.empty((n, options.num_classes), dtype=torch.float32, device=device)
    boxes = torch.empty((n, 4), dtype=torch.int32, device=device)
    lams = torch.empty((n,), dtype=torch.float32, device=device)
    dest_boxes = torch.empty((n, 4), dtype=torch.int32, device=device)
    cuda = device.type == "cuda"
    if cuda:
        ids, soft = None, _soft_labels_on(labels, n, options.num_classes, device, who)
    else:
        ids, soft = label_arrays(labels.numpy(), n, options.num_classes, f"{who}: labels")
    if n:
        with torch.cuda.device(device) if cuda else contextlib.nullcontext():
            c_api.mix(
                images=images.data_ptr(),
                shape=(n, h, w, c),
                label_ids=None if ids is None else ids.ctypes.data,
                soft_labels=_pointer(soft),
                options=options,
                **arrays.pointers(),
                out_images=out_images.data_ptr(),
                out_labels=out_labels.data_ptr(),
                out_boxes=boxes.data_ptr(),
                out_lam=lams.data_ptr(),
                out_dest_boxes=dest_boxes.data_ptr(),
                cuda=cuda,
                stream=torch.cuda.current_stream(device).cuda_stream if cuda else None,
                who=who,
            )
    if layout == "NCHW":
        out_images = out_images.permute(0, 3, 1, 2).contiguous()
    if not return_info:
        return out_images, out_labels
    sources = torch.from_numpy(arrays.source.copy())
    if cuda:
        sources = sources.pin_memory().to(device, non_blocking=True)
    if options.placement == "target_background":
        return out_images, out_labels, boxes, lams, sources, dest_boxes
    return out_images, out_labels, boxes, lams, sources


def _as_nhwc(images: torch.Tensor, layout: str, who: str) -> torch.Tensor:
    """The uint8 batch as an NHWC view; a ValueError says what is wrong, in the given layout."""
    if layout not in LAYOUTS:
        raise ValueError(f"{who}: layout must be 'NHWC' or 'NCHW', got {layout!r}")
    if not isinstance(images, torch.Tensor):
        kind = type_name(images)
        hint = (
            " (dali_saliencymix.numpy takes numpy arrays; or pass torch.from_numpy(images))"
            if isinstance(images, np.ndarray)
            else ""
        )
        raise TypeError(f"{who}: images: expected a uint8 {layout} torch.Tensor, got {kind}{hint}")
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(
            f"{who}: images: expected a uint8 {layout} tensor, got {images.dtype} of shape "
            f"{tuple(images.shape)}"
        )
    channels = images.shape[1 if layout == "NCHW" else 3]
    if channels not in (1, 3):
        other = "NCHW" if layout == "NHWC" else "NHWC"
        hint = images.shape[3 if layout == "NCHW" else 1] in (1, 3)
        raise ValueError(
            f"{who}: images: a {layout} batch of shape {tuple(images.shape)} has {channels} "
            "channels, expected 1 or 3"
            + (f" (is it {other}? then pass layout={other!r})" if hint else "")
        )
    return images.permute(0, 2, 3, 1) if layout == "NCHW" else images


def _pointer(array: np.ndarray | torch.Tensor | None) -> int | None:
    if array is None:
        return None
    return array.data_ptr() if isinstance(array, torch.Tensor) else array.ctypes.data


def _soft_labels_on(
    labels: torch.Tensor, n: int, num_classes: int, device: torch.device, who: str
) -> torch.Tensor:
    """Float32 (N, C) labels on the device; class ids become exact one-hots there.

    Host labels are checked on the host (``label_arrays``) and copied without blocking. Device
    labels are checked on the device (class ids in [0, num_classes), soft labels finite,
    >= 0 and rows summing to 1), which waits for the device.
    """
    what = f"{who}: labels"
    if labels.device.type == "cpu":
        ids, soft = label_arrays(labels.numpy(), n, num_classes, what)
        host = torch.from_numpy(soft if ids is None else ids)
        labels = host.pin_memory().to(device, non_blocking=True)
    else:
        labels = labels.to(device)
        soft = labels.dtype.is_floating_point
        if soft and tuple(labels.shape) != (n, num_classes):
            raise ValueError(
                f"{what}: expected soft labels of shape ({n}, {num_classes}), got "
                f"{tuple(labels.shape)}"
            )
        if not soft and labels.numel() != n:
            raise ValueError(f"{what}: expected {n} class ids, got shape {tuple(labels.shape)}")
        bad = ~(labels >= 0) | (~torch.isfinite(labels) if soft else labels >= num_classes)
        if bool(bad.any()):
            where = [int(v) for v in bad.nonzero()[0]]
            value = labels[tuple(where)].item()
            raise ValueError(
                f"{what}: sample {where[0]} has "
                + (
                    f"weight {value} at class {where[1]}, expected a finite value >= 0"
                    if soft
                    else f"class {value}, expected 0 <= label < num_classes = {num_classes}"
                )
            )
        if soft:
            check_label_sums(labels.double().sum(1).cpu().numpy(), what)
    if labels.dtype.is_floating_point:
        return labels.float().contiguous()
    return torch.nn.functional.one_hot(labels.reshape(-1).long(), num_classes).float()
