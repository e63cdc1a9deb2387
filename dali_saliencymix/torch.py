"""SaliencyMix for PyTorch without DALI: the same kernels on uint8 NHWC tensors, CPU or CUDA.

CUDA tensors are processed on the current CUDA stream (the random draws are made on the host with
NumPy and copied with the launch). Semantics and outputs equal ``fn.saliency_mix``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from dali_saliencymix import c_api
from dali_saliencymix.kernels import draw_arrays, label_arrays
from dali_saliencymix.mix_options import MixConfig


@dataclass
class MixDraws:
    """The random draws of one batch: pairs, sampled target weights and coin flips."""

    source: np.ndarray  # int32 (N,)
    lam: np.ndarray  # float32 (N,)
    apply: np.ndarray  # uint8 (N,)


def draw(
    num_samples: int,
    alpha: float = 1.0,
    prob: float = 1.0,
    seed: int | np.random.Generator | None = None,
) -> MixDraws:
    """Draw a permutation, lam ~ Beta(alpha, alpha) and coin flips with probability prob."""
    options = MixConfig(num_classes=1, alpha=alpha, prob=prob)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return MixDraws(
        source=rng.permutation(num_samples).astype(np.int32),
        lam=rng.beta(options.alpha, options.alpha, num_samples).astype(np.float32),
        apply=(rng.random(num_samples) < options.prob).astype(np.uint8),
    )


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
    seed: int | np.random.Generator | None = None,
    draws: MixDraws | None = None,
    return_info: bool = False,
) -> tuple[torch.Tensor, ...]:
    """SaliencyMix of a uint8 NHWC batch (CPU or CUDA): mixed images and float32 soft labels.

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
        seed: seed or NumPy Generator for the draws.
        draws: explicit draws (overrides alpha, prob and seed), e.g. to reproduce a DALI batch.
        return_info: also return boxes (N, 4) int32 (y1, x1, y2, x2), lams (N,) and sources (N,).

    Returns:
        ``(images, soft_labels)`` or ``(images, soft_labels, boxes, lams, sources)``, on the
        device of ``images``. An empty batch (N = 0, e.g. a PARTIAL last batch) gives empty
        outputs of those shapes.

    """
    options = MixConfig(
        num_classes=num_classes,
        alpha=alpha,
        prob=prob,
        mode=mode,
        label_smoothing=label_smoothing,
        correct_lam=correct_lam,
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
        draws = draw(n, options.alpha, options.prob, seed)
    source, lam, apply = draw_arrays(draws.source, draws.lam, draws.apply, n, "draws.")
    images = images.contiguous()
    out_images = torch.empty_like(images)
    out_labels = torch.empty((n, options.num_classes), dtype=torch.float32, device=device)
    boxes = torch.empty((n, 4), dtype=torch.int32, device=device)
    lams = torch.empty((n,), dtype=torch.float32, device=device)
    cuda = device.type == "cuda"
    if cuda:
        ids, soft = None, _soft_labels_on(labels, n, options.num_classes, device)
    else:
        ids, soft = label_arrays(labels.numpy(), n, options.num_classes)
    if n:
        with torch.cuda.device(device) if cuda else contextlib.nullcontext():
            c_api.saliency_mix(
                images=images.data_ptr(),
                shape=(n, h, w, c),
                label_ids=None if ids is None else ids.ctypes.data,
                soft_labels=_pointer(soft),
                num_classes=options.num_classes,
                label_smoothing=options.label_smoothing,
                draws=(source.ctypes.data, lam.ctypes.data, apply.ctypes.data),
                batch_mode=options.mode == "batch",
                correct_lam=options.correct_lam,
                out_images=out_images.data_ptr(),
                out_labels=out_labels.data_ptr(),
                out_boxes=boxes.data_ptr(),
                out_lam=lams.data_ptr(),
                stream=torch.cuda.current_stream(device).cuda_stream if cuda else None,
                cuda=cuda,
            )
    if not return_info:
        return out_images, out_labels
    sources = torch.from_numpy(source.copy())
    if cuda:
        sources = sources.pin_memory().to(device, non_blocking=True)
    return out_images, out_labels, boxes, lams, sources


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
