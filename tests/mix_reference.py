"""SaliencyMix in numpy and OpenCV, given the random draws (docs/algorithm.md, SaliencyMix)."""

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
