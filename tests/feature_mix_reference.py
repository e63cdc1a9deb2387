"""SaliencyMix on feature maps in numpy, sample by sample, from the rule in docs/feature_mix.md
(saliency, peak, box, paste, targets), given the draws. The box is the image operator's, the
same reference the kernels are tested against (mix_reference.reference_box)."""

from __future__ import annotations

import numpy as np
from mix_reference import reference_box


def saliency_reference(feature_map, kind):
    """The H x W saliency of one sample's maps (C, H, W), in float64, as the rule words it."""
    f = feature_map.astype(np.float64)
    if kind == "mean_abs":
        return np.abs(f).mean(axis=0)
    if kind == "l2":
        return np.sqrt((f * f).sum(axis=0))
    assert kind == "max"
    return f.max(axis=0)


def first_peak(saliency):
    """(y, x) of the first maximum in row-major order."""
    y, x = np.unravel_index(int(np.argmax(saliency)), saliency.shape)
    return int(y), int(x)


def smoothed_labels(labels, num_classes, eps):
    """timm's smoothing in float32 of class ids (N,) or soft labels (N, C)."""
    labels = np.asarray(labels)
    one, eps = np.float32(1.0), np.float32(eps)
    off = eps / np.float32(num_classes)
    if np.issubdtype(labels.dtype, np.floating):
        return labels.astype(np.float32) * (one - eps) + off
    out = np.full((len(labels), num_classes), off, np.float32)
    out[np.arange(len(labels)), labels.reshape(-1)] = one * (one - eps) + off
    return out


def reference_feature_mix(
    features,
    labels,
    *,
    num_classes,
    source,
    lam,
    apply,
    box=None,
    mode="elem",
    box_kind="saliency",
    minmax=None,
    smoothing=0.0,
    correct_lam=True,
    saliency="mean_abs",
):
    """Mixed maps, soft targets, boxes (y1, x1, y2, x2) and target weights of a batch of feature
    maps (N, C, H, W), each sample on its own."""
    n, _, h, w = features.shape
    out = features.copy()
    targets = np.empty((n, num_classes), np.float32)
    boxes = np.zeros((n, 4), np.int64)
    weights = np.ones(n, np.float32)
    smoothed = smoothed_labels(labels, num_classes, smoothing)
    one = np.float32(1.0)
    for i in range(n):
        j = int(source[i])
        g = {"elem": i, "batch": 0, "pair": min(i, j)}[mode]
        weight = one
        if apply[g]:
            peak = None
            if box_kind == "saliency":
                centre_of = int(source[0]) if mode == "batch" else j
                peak = first_peak(saliency_reference(features[centre_of], saliency))
            u = None if box is None else [float(v) for v in box[g]]
            sampled = np.float32(lam[g])
            y1, x1, y2, x2 = reference_box(h, w, sampled, u, peak, mode, box_kind, minmax)
            out[i, :, y1:y2, x1:x2] = features[j, :, y1:y2, x1:x2]
            boxes[i] = (y1, x1, y2, x2)
            area = (y2 - y1) * (x2 - x1)
            corrected = correct_lam or minmax is not None
            weight = np.float32(1.0 - area / (h * w)) if corrected else np.float32(lam[g])
        weights[i] = weight
        targets[i] = smoothed[i] * weight + smoothed[j] * (one - weight)
    return out, targets, boxes, weights
