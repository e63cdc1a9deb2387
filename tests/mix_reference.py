"""SaliencyMix and the mixing family in numpy and OpenCV, given the random draws
(docs/algorithm.md, "SaliencyMix", "The mixing family" and "Content-aware placement and label
weights")."""

from __future__ import annotations

import math

import numpy as np
from conftest import opencv_saliency, opencv_saliency_u8


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


def reference_box(h, w, sampled, u, peak, mode, box_kind, minmax):
    """(y1, x1, y2, x2) of one CutMix box in an h x w image (docs/algorithm.md, "The decision of
    one sample"): sampled is the float32 lam, u the four box draws (or None), peak the (y, x) that
    centres a saliency box."""
    one = np.float32(1.0)
    if box_kind == "saliency":
        cy, cx = peak
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
    return tuple(int(v) for v in (y1, x1, y2, x2))


def saliency_peak(image):
    """(y, x) of the first maximum of OpenCV's saliency map."""
    sal = opencv_saliency(image)
    return (int(v) for v in np.unravel_index(int(np.argmax(sal)), sal.shape))


PLACEMENT_STRIDE = 8


def grid_positions(length, side):
    """The destination corners along an axis: 0, 8, 16, ... <= length - side, then
    length - side itself if it is not on that grid."""
    room = length - side
    positions = list(range(0, room + 1, PLACEMENT_STRIDE))
    if room % PLACEMENT_STRIDE:
        positions.append(room)
    return positions


def mass(saliency, y1, x1, y2, x2):
    """Saliency mass of a uint8 map over [y1, y2) x [x1, x2), as a Python int."""
    return int(saliency[y1:y2, x1:x2].sum(dtype=np.int64))


def least_salient_place(saliency, h, w):
    """(cost, ty, tx) of the grid position of a h x w box that covers the least saliency: every
    candidate summed directly, the first in row-major order kept among equals."""
    best = None
    for ty in grid_positions(saliency.shape[0], h):
        for tx in grid_positions(saliency.shape[1], w):
            cost = mass(saliency, ty, tx, ty + h, tx + w)
            if best is None or cost < best[0]:
                best = (cost, ty, tx)
    return best


def saliency_weight(target_map, source_map, box, dest, h, w):
    """label_weights="saliency": T_vis / (T_vis + S_in) in double, then float32; the area weight
    when both are 0."""
    y1, x1, y2, x2 = box
    visible = mass(target_map, 0, 0, h, w) - mass(target_map, *dest)
    pasted = mass(source_map, y1, x1, y2, x2)
    if visible + pasted > 0:
        return np.float32(visible / (visible + pasted))  # Python: correctly rounded division
    return np.float32(1.0 - (y2 - y1) * (x2 - x1) / (h * w))


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
    placement="source_peak",
    label_weights="area",
):
    """The mixing family (docs/algorithm.md, "The mixing family"), sample by sample in numpy.

    cutmix: per sample 1 (CutMix) or 0 (MixUp), None: all CutMix; box: (N, 4) uniform draws;
    minmax: None or (min, max) Python floats; placement "source_peak" or "target_background";
    label_weights "area" or "saliency" (the maps: OpenCV's, as uint8). Returns mixed images,
    soft labels, boxes (y1, x1, y2, x2) in the source, target weights and destination boxes in
    the target, as the kernels do.
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
    dests = np.zeros((n, 4), np.int32)
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
            peak = None
            if box_kind == "saliency":
                peak = saliency_peak(images[int(source[0]) if mode == "batch" else j])
            y1, x1, y2, x2 = reference_box(h, w, sampled, u, peak, mode, box_kind, minmax)
            area = (y2 - y1) * (x2 - x1)
            dest = (y1, x1, y2, x2)
            if placement == "target_background":
                dest = (0, 0, 0, 0)
                if area:
                    _, ty, tx = least_salient_place(opencv_saliency_u8(images[i]), y2 - y1, x2 - x1)
                    dest = (ty, tx, ty + y2 - y1, tx + x2 - x1)
            out[i, dest[0] : dest[2], dest[1] : dest[3]] = images[j, y1:y2, x1:x2]
            boxes[i] = (y1, x1, y2, x2)
            dests[i] = dest
            corrected = correct_lam or minmax is not None
            weight = np.float32(1.0 - area / (h * w)) if corrected else sampled
            if label_weights == "saliency":
                target_map, source_map = (
                    opencv_saliency_u8(images[i]),
                    opencv_saliency_u8(images[j]),
                )
                weight = saliency_weight(target_map, source_map, boxes[i], dest, h, w)
        weights[i] = weight
        soft[i] = smoothed[i] * weight + smoothed[j] * (one - weight)
    return out, soft, boxes, weights, dests
