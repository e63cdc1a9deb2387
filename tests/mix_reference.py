"""SaliencyMix and the mixing family in numpy and OpenCV, given the random draws
(docs/algorithm.md, "SaliencyMix" and "The mixing family")."""

from __future__ import annotations

import math

import numpy as np
from conftest import opencv_saliency


def reference_mix(images, labels, num_classes, source, lam, apply, mode, smoothing, correct_lam):
    """Mixed images, soft labels, boxes (y1, x1, y2, x2) and target weights.

    labels: class ids (N,) or soft float32 vectors (N, num_classes).
    """
    n, h, w = images.shape[:3]
    out = images.copy()
    off = np.float32(smoothing) / np.float32(num_classes)
    if np.issubdtype(np.asarray(labels).dtype, np.floating):
        onehot = labels.astype(np.float32) * (np.float32(1.0) - np.float32(smoothing)) + off
    else:
        on = np.float32(1.0) - np.float32(smoothing) + off
        onehot = np.full((n, num_classes), off, np.float32)
        onehot[np.arange(n), np.asarray(labels).reshape(-1)] = on
    soft = np.empty((n, num_classes), np.float32)
    boxes = np.zeros((n, 4), np.int32)
    weights = np.ones(n, np.float32)
    for i in range(n):
        k = 0 if mode == "batch" else i
        j = int(source[i])
        weight = np.float32(1.0)
        if apply[k]:
            peak_of = int(source[0]) if mode == "batch" else j
            sal = opencv_saliency(images[peak_of])
            cy, cx = np.unravel_index(int(np.argmax(sal)), sal.shape)
            ratio = math.sqrt(1.0 - float(lam[k]))
            cut_h, cut_w = int(h * ratio), int(w * ratio)
            y1, y2 = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, h)
            x1, x2 = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, w)
            out[i, y1:y2, x1:x2] = images[j, y1:y2, x1:x2]
            boxes[i] = (y1, x1, y2, x2)
            area = (y2 - y1) * (x2 - x1)
            weight = np.float32(1.0 - area / (h * w)) if correct_lam else np.float32(lam[k])
        weights[i] = weight
        soft[i] = onehot[i] * weight + onehot[j] * (np.float32(1.0) - weight)
    return out, soft, boxes, weights


def uniform_index(u, n):
    """floor(u * n) for a uniform draw u in [0, 1], in double, at most n - 1 (u may be 1)."""
    return min(int(float(u) * n), n - 1)


def saliency_peak(image):
    """(y, x) of the first maximum of OpenCV's saliency map."""
    sal = opencv_saliency(image)
    return (int(v) for v in np.unravel_index(int(np.argmax(sal)), sal.shape))


def reference_family(
    images,
    labels,
    *,
    num_classes,
    source,
    lam,
    apply,
    cutmix=None,
    box=None,
    mode="elem",
    box_kind="saliency",
    minmax=None,
    smoothing=0.0,
    correct_lam=True,
):
    """The mixing family (docs/algorithm.md, "The mixing family"), sample by sample in numpy.

    cutmix: per sample 1 (CutMix) or 0 (MixUp), None: all CutMix; box: (N, 4) uniform draws;
    minmax: None or (min, max) Python floats. Returns mixed images, soft labels, boxes
    (y1, x1, y2, x2) and target weights, as the kernels do.
    """
    n, h, w = images.shape[:3]
    cutmix = np.ones(n, np.uint8) if cutmix is None else np.asarray(cutmix)
    off = np.float32(smoothing) / np.float32(num_classes)
    if np.issubdtype(np.asarray(labels).dtype, np.floating):
        smoothed = labels.astype(np.float32) * (np.float32(1.0) - np.float32(smoothing)) + off
    else:
        smoothed = np.full((n, num_classes), off, np.float32)
        smoothed[np.arange(n), np.asarray(labels).reshape(-1)] = (
            np.float32(1.0) - np.float32(smoothing) + off
        )
    out = images.copy()
    soft = np.empty((n, num_classes), np.float32)
    boxes = np.zeros((n, 4), np.int32)
    weights = np.ones(n, np.float32)
    one = np.float32(1.0)
    for i in range(n):
        j = int(source[i])
        g = {"elem": i, "batch": 0, "pair": min(i, j)}[mode]
        sampled = np.float32(lam[g])
        weight = one
        if apply[g] and not cutmix[g]:  # MixUp: blend in float32, round half to even
            weight = sampled
            a, b = images[i].astype(np.float32), images[j].astype(np.float32)
            out[i] = np.rint(a * sampled + b * (one - sampled)).astype(np.uint8)
        elif apply[g]:  # CutMix
            u = [float(v) for v in box[g]] if box is not None else None
            if box_kind == "saliency":
                cy, cx = saliency_peak(images[int(source[0]) if mode == "batch" else j])
            if minmax is not None:
                lo_h, hi_h = int(h * minmax[0]), int(h * minmax[1])
                lo_w, hi_w = int(w * minmax[0]), int(w * minmax[1])
                cut_h = lo_h + uniform_index(u[0], hi_h - lo_h)
                cut_w = lo_w + uniform_index(u[1], hi_w - lo_w)
                if box_kind == "random":
                    y1 = uniform_index(u[2], h - cut_h + 1)
                    x1 = uniform_index(u[3], w - cut_w + 1)
                    y2, x2 = y1 + cut_h, x1 + cut_w
                else:
                    y1, y2 = np.clip([cy - cut_h // 2, cy - cut_h // 2 + cut_h], 0, h)
                    x1, x2 = np.clip([cx - cut_w // 2, cx - cut_w // 2 + cut_w], 0, w)
            elif box_kind == "random":
                if mode == "batch":  # timm's lam is a Python float: double
                    ratio = math.sqrt(1.0 - float(sampled))
                    cut_h, cut_w = int(h * ratio), int(w * ratio)
                else:  # a numpy float32
                    ratio = np.sqrt(one - sampled)
                    cut_h, cut_w = int(np.float32(h) * ratio), int(np.float32(w) * ratio)
                cy, cx = uniform_index(u[0], h), uniform_index(u[1], w)
                y1, y2 = np.clip([cy - cut_h // 2, cy + (cut_h + 1) // 2], 0, h)
                x1, x2 = np.clip([cx - cut_w // 2, cx + (cut_w + 1) // 2], 0, w)
            else:  # SaliencyMix: double, cut // 2 on both sides
                ratio = math.sqrt(1.0 - float(sampled))
                cut_h, cut_w = int(h * ratio), int(w * ratio)
                y1, y2 = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, h)
                x1, x2 = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, w)
            out[i, y1:y2, x1:x2] = images[j, y1:y2, x1:x2]
            boxes[i] = (y1, x1, y2, x2)
            area = int((y2 - y1) * (x2 - x1))
            corrected = correct_lam or minmax is not None
            weight = np.float32(1.0 - area / (h * w)) if corrected else sampled
        weights[i] = weight
        soft[i] = smoothed[i] * weight + smoothed[j] * (one - weight)
    return out, soft, boxes, weights
