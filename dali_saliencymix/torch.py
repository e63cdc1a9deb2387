"""SaliencyMix for PyTorch without DALI: the same kernels on uint8 NHWC tensors, CPU or CUDA.

CUDA tensors are processed on the current CUDA stream (the random draws are made on the host with
NumPy and copied with the launch). Semantics and outputs equal ``fn.saliency_mix``.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np
import torch

from dali_saliencymix import kernels
from dali_saliencymix.kernels import check, library
from dali_saliencymix.mix_options import check_mix_options


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
    _check_options(1, alpha, prob, "elem", 0.0)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return MixDraws(
        source=rng.permutation(num_samples).astype(np.int32),
        lam=rng.beta(alpha, alpha, num_samples).astype(np.float32),
        apply=(rng.random(num_samples) < prob).astype(np.uint8),
    )


def _check_options(
    num_classes: int, alpha: float, prob: float, mode: str, smoothing: float
) -> None:
    check_mix_options(num_classes, alpha, prob, mode, smoothing)


def saliency_mix(
    images: torch.Tensor,
    labels: torch.Tensor,
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
        labels: integer class ids (N,) or (N, 1), or float soft labels (N, num_classes).
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
        device of ``images``.

    """
    _check_options(num_classes, alpha, prob, mode, label_smoothing)
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(
            "saliency_mix: images: expected a uint8 NHWC tensor, got "
            f"{images.dtype} of shape {tuple(images.shape)}"
        )
    n, h, w, c = images.shape
    if draws is None:
        draws = draw(n, alpha, prob, seed)
    images = images.contiguous()
    device = images.device
    out_images = torch.empty_like(images)
    out_labels = torch.empty((n, num_classes), dtype=torch.float32, device=device)
    boxes = torch.empty((n, 4), dtype=torch.int32, device=device)
    lams = torch.empty((n,), dtype=torch.float32, device=device)
    source, lam, apply = kernels.draw_arrays(draws.source, draws.lam, draws.apply, n, "draws.")
    common = (
        ctypes.c_int32(num_classes),
        ctypes.c_float(label_smoothing),
        source.ctypes.data,
        lam.ctypes.data,
        apply.ctypes.data,
        int(mode == "batch"),
        int(correct_lam),
    )
    if device.type == "cpu":
        ids, soft = kernels.label_arrays(labels.cpu().numpy(), n, num_classes)
        check(
            library().dsm_saliency_mix_cpu(
                images.data_ptr(),
                n,
                h,
                w,
                c,
                None if ids is None else ids.ctypes.data,
                None if soft is None else soft.ctypes.data,
                *common,
                out_images.data_ptr(),
                out_labels.data_ptr(),
                boxes.data_ptr(),
                lams.data_ptr(),
            )
        )
    elif device.type == "cuda":
        soft_labels = _soft_labels_on(labels, n, num_classes, device)
        with torch.cuda.device(device):
            stream = torch.cuda.current_stream(device).cuda_stream
            check(
                library().dsm_saliency_mix_cuda(
                    images.data_ptr(),
                    n,
                    h,
                    w,
                    c,
                    soft_labels.data_ptr(),
                    *common,
                    out_images.data_ptr(),
                    out_labels.data_ptr(),
                    boxes.data_ptr(),
                    lams.data_ptr(),
                    ctypes.c_void_p(stream),
                )
            )
    else:
        raise ValueError(f"saliency_mix: images must be on the CPU or a CUDA device, got {device}")
    if not return_info:
        return out_images, out_labels
    sources = torch.from_numpy(source.copy())
    if device.type == "cuda":
        sources = sources.pin_memory().to(device, non_blocking=True)
    return out_images, out_labels, boxes, lams, sources


def _soft_labels_on(
    labels: torch.Tensor, n: int, num_classes: int, device: torch.device
) -> torch.Tensor:
    """Float32 (N, C) labels on the device; class ids become exact one-hots there.

    Host labels are range-checked on the host and copied without blocking; device class ids
    cannot be checked without a synchronisation: an id outside [0, num_classes) then trips
    ``one_hot``'s device-side assertion.
    """
    if labels.device.type == "cpu":
        if not labels.dtype.is_floating_point:
            ids = labels.reshape(-1)
            bad = (ids < 0) | (ids >= num_classes)
            if bool(bad.any()):
                i = int(bad.nonzero()[0, 0])
                raise ValueError(
                    f"saliency_mix: labels: sample {i} has class {int(ids[i])}, "
                    f"expected 0 <= label < num_classes = {num_classes}"
                )
        labels = labels.pin_memory().to(device, non_blocking=True)
    else:
        labels = labels.to(device)
    if labels.dtype.is_floating_point:
        if tuple(labels.shape) != (n, num_classes):
            raise ValueError(
                f"saliency_mix: labels: expected soft labels of shape ({n}, "
                f"{num_classes}), got {tuple(labels.shape)}"
            )
        return labels.float().contiguous()
    ids = labels.reshape(-1).long()
    if ids.numel() != n:
        raise ValueError(
            f"saliency_mix: labels: expected {n} class ids, got shape {tuple(labels.shape)}"
        )
    return torch.nn.functional.one_hot(ids, num_classes).float().contiguous()
