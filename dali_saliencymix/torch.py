"""The mixing family for PyTorch without DALI: the same kernels on uint8 NHWC tensors, CPU or CUDA.

``mix`` is timm's MixUp / CutMix (random box) and SaliencyMix (saliency box) with ``MixConfig``'s
options; ``saliency_mix`` is SaliencyMix as in the paper. CUDA tensors are processed on the
current CUDA stream (the random draws are made on the host with NumPy and copied with the
launch). Semantics and outputs equal ``fn.saliency_mix``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch

from dali_saliencymix import c_api
from dali_saliencymix.kernels import MixDraws, label_arrays, mix_draw_arrays
from dali_saliencymix.kernels import draw as draw_family
from dali_saliencymix.mix_options import MixConfig

__all__ = ["MixDraws", "draw", "mix", "saliency_mix"]


def draw(
    num_samples: int,
    alpha: float = 1.0,
    prob: float = 1.0,
    seed: int | np.random.Generator | None = None,
) -> MixDraws:
    """Draw SaliencyMix's draws: a permutation, lam ~ Beta(alpha, alpha), coin flips.

    The flips are 1 with probability ``prob``. ``dali_saliencymix.kernels.draw`` draws for any
    ``MixConfig``.
    """
    return draw_family(num_samples, MixConfig(num_classes=1, alpha=alpha, prob=prob), seed)


def mix(
    images: torch.Tensor,
    labels: torch.Tensor | np.ndarray,
    *,
    options: MixConfig | None = None,
    draws: MixDraws | None = None,
    seed: int | np.random.Generator | None = None,
    return_info: bool = False,
    **option_kwargs: Any,
) -> tuple[torch.Tensor, ...]:
    """MixUp / CutMix / SaliencyMix of a uint8 NHWC batch (CPU or CUDA), timm's ``Mixup``.

    Args:
        images: uint8 tensor (N, H, W, C) with C = 1 or 3 (RGB), on the CPU or a CUDA device.
        labels: integer class ids (N,) or (N, 1), or float soft labels (N, num_classes); a
            tensor (CPU or on the device of ``images``) or a numpy array.
        options: the mixing options; or give them as keyword arguments (``MixConfig``'s
            fields, e.g. ``num_classes=1000, mixup_alpha=0.8, box="random"``), not both.
        draws: explicit draws (e.g. to reproduce a batch); by default drawn with timm's
            distributions for the options (``dali_saliencymix.kernels.draw``).
        seed: seed or NumPy Generator for the draws.
        return_info: also return boxes (N, 4) int32 (y1, x1, y2, x2) in the source, lams (N,)
            and sources (N,); with ``placement="target_background"`` also the destination
            boxes (N, 4) int32, where each patch went in the target (zeros when none).
        **option_kwargs: ``MixConfig``'s fields, when ``options`` is not given.

    Returns:
        ``(images, soft_labels)``, ``(images, soft_labels, boxes, lams, sources)``, or with
        ``placement="target_background"`` ``(images, soft_labels, boxes, lams, sources,
        dest_boxes)`` (as ``fn.saliency_mix``), on the device of ``images``. An empty batch
        (N = 0) gives empty outputs of those shapes.

    """
    if options is None:
        options = MixConfig(**option_kwargs)
    elif option_kwargs:
        raise ValueError(
            "mix: give the options either as options=MixConfig(...) or as keyword arguments, "
            f"not both (got {sorted(option_kwargs)})"
        )
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(
            "saliency_mix: images: expected a uint8 NHWC tensor, got "
            f"{images.dtype} of shape {tuple(images.shape)}"
        )
    device = images.device
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"saliency_mix: images must be on the CPU or a CUDA device, got {device}")
    n, h, w, c = images.shape
    labels = torch.as_tensor(labels)
    if draws is None:
        draws = draw_family(n, options, seed)
    arrays = mix_draw_arrays(draws, n)
    images = images.contiguous()
    out_images = torch.empty_like(images)
    out_labels = torch.empty((n, options.num_classes), dtype=torch.float32, device=device)
    boxes = torch.empty((n, 4), dtype=torch.int32, device=device)
    lams = torch.empty((n,), dtype=torch.float32, device=device)
    dest_boxes = torch.empty((n, 4), dtype=torch.int32, device=device)
    cuda = device.type == "cuda"
    if cuda:
        ids, soft = None, _soft_labels_on(labels, n, options.num_classes, device)
    else:
        ids, soft = label_arrays(labels.numpy(), n, options.num_classes)
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
            )
    if not return_info:
        return out_images, out_labels
    sources = torch.from_numpy(arrays.source.copy())
    if cuda:
        sources = sources.pin_memory().to(device, non_blocking=True)
    if options.placement == "target_background":
        return out_images, out_labels, boxes, lams, sources, dest_boxes
    return out_images, out_labels, boxes, lams, sources


def saliency_mix(
    images: torch.Tensor,
    labels: torch.Tensor | np.ndarray,
    *,
    num_classes: int,
    alpha: float = 1.0,
    prob: float = 1.0,
    mode: str = "elem",
    label_smoothing: float = 0.0,
    correct_lam: bool = True,
    placement: str = "source_peak",
    label_weights: str = "area",
    seed: int | np.random.Generator | None = None,
    draws: MixDraws | None = None,
    return_info: bool = False,
) -> tuple[torch.Tensor, ...]:
    """SaliencyMix of a uint8 NHWC batch (CPU or CUDA): mixed images and float32 soft labels.

    ``mix`` with CutMix only, boxes centred on the source's saliency peak and random pairs.

    Args:
        images: uint8 tensor (N, H, W, C) with C = 1 or 3 (RGB), on the CPU or a CUDA device.
        labels: integer class ids (N,) or (N, 1), or float soft labels (N, num_classes); a
            tensor (CPU or on the device of ``images``) or a numpy array.
        num_classes: length of the soft labels.
        alpha: lam ~ Beta(alpha, alpha), alpha > 0.
        prob: probability of mixing a sample (``"elem"``) or the batch (``"batch"``).
        mode: ``"elem"`` (per sample, the paper) or ``"batch"`` (one box from the saliency of
            the source of sample 0, the official code).
        label_smoothing: timm's label smoothing, in [0, 1).
        correct_lam: lam = 1 - clipped box area / image area.
        placement: ``"source_peak"`` (the paper) or ``"target_background"`` (see ``mix``).
        label_weights: ``"area"`` (the paper) or ``"saliency"`` (see ``mix``).
        seed: seed or NumPy Generator for the draws.
        draws: explicit draws (overrides alpha, prob and seed), e.g. to reproduce a DALI batch.
        return_info: also return boxes (N, 4) int32 (y1, x1, y2, x2), lams (N,) and sources (N,)
            (and the destination boxes (N, 4) with ``placement="target_background"``).

    Returns:
        ``(images, soft_labels)`` or ``(images, soft_labels, boxes, lams, sources)`` (plus
        ``dest_boxes`` with target_background), on the device of ``images``. An empty batch
        (N = 0, e.g. a PARTIAL last batch) gives empty outputs of those shapes.

    """
    options = MixConfig(
        num_classes=num_classes,
        alpha=alpha,
        prob=prob,
        mode=mode,
        pairing="reverse" if mode == "pair" else "permutation",
        label_smoothing=label_smoothing,
        correct_lam=correct_lam,
        placement=placement,
        label_weights=label_weights,
    )
    return mix(images, labels, options=options, draws=draws, seed=seed, return_info=return_info)


def _pointer(array: np.ndarray | torch.Tensor | None) -> int | None:
    if array is None:
        return None
    return array.data_ptr() if isinstance(array, torch.Tensor) else array.ctypes.data


def _soft_labels_on(
    labels: torch.Tensor, n: int, num_classes: int, device: torch.device
) -> torch.Tensor:
    """Float32 (N, C) labels on the device; class ids become exact one-hots there.

    Host labels are checked on the host (``label_arrays``) and copied without blocking. Device
    labels are checked on the device (class ids in [0, num_classes), soft labels finite and
    >= 0), which waits for the device once.
    """
    if labels.device.type == "cpu":
        ids, soft = label_arrays(labels.numpy(), n, num_classes)
        host = torch.from_numpy(soft if ids is None else ids)
        labels = host.pin_memory().to(device, non_blocking=True)
    else:
        labels = labels.to(device)
        soft = labels.dtype.is_floating_point
        if soft and tuple(labels.shape) != (n, num_classes):
            raise ValueError(
                f"saliency_mix: labels: expected soft labels of shape ({n}, "
                f"{num_classes}), got {tuple(labels.shape)}"
            )
        if not soft and labels.numel() != n:
            raise ValueError(
                f"saliency_mix: labels: expected {n} class ids, got shape {tuple(labels.shape)}"
            )
        bad = ~(labels >= 0) | (~torch.isfinite(labels) if soft else labels >= num_classes)
        if bool(bad.any()):
            where = [int(v) for v in bad.nonzero()[0]]
            value = labels[tuple(where)].item()
            raise ValueError(
                f"saliency_mix: labels: sample {where[0]} has "
                + (
                    f"weight {value} at class {where[1]}, expected a finite value >= 0"
                    if soft
                    else f"class {value}, expected 0 <= label < num_classes = {num_classes}"
                )
            )
    if labels.dtype.is_floating_point:
        return labels.float().contiguous()
    return torch.nn.functional.one_hot(labels.reshape(-1).long(), num_classes).float()
