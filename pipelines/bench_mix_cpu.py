#!/usr/bin/env python3
"""Throughput of a CPU DALI training pipeline with and without mixing, side by side in one run.

Pipeline (2 threads, batch 32, the shipped photos): reader -> decode -> random resized crop 224
-> [mixing] -> flip + normalise (crop_mirror_normalize). Variants:
  none        no mixing
  ours        dali_saliencymix.saliency_mix (mode="elem")
  content     dali_saliencymix.mix as SaliencyMix (CutMix only, saliency box, elem) with
              placement="target_background" and label_weights="saliency": the targets' maps too
  mixup       dali_saliencymix.mix: MixUp only (alpha 0.8, mode "elem")
  recipe      dali_saliencymix.mix with timm's DeiT recipe (MixUp 0.8 / CutMix 1.0, switch 0.5,
              smoothing 0.1, mode "batch") and SaliencyMix boxes
  recipe-rand the same recipe with timm's random boxes (box="random"): timm's Mixup in DALI
  cutmix      plain CutMix (random box centre) assembled from DALI built-ins with fn.multi_paste
  official    the official approach: OpenCV saliency per sample in fn.python_function
Prints images per second and the ratio to "none" (Markdown table).

    python pipelines/bench_mix_cpu.py [--batches 30]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from nvidia.dali import fn, pipeline_def, types
from nvidia.dali import math as dmath
from nvidia.dali.pipeline import Pipeline

import dali_saliencymix

PHOTO_DIR = Path(dali_saliencymix.__file__).resolve().parent / "data" / "photos"
SIZE, CLASSES = 224, 4
DEIT = {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "switch_prob": 0.5, "label_smoothing": 0.1}
FAMILY = {
    "mixup": {"mixup_alpha": 0.8, "cutmix_alpha": 0.0, "mode": "elem"},
    "recipe": {**DEIT, "mode": "batch", "box": "saliency"},
    "recipe-rand": {**DEIT, "mode": "batch", "box": "random"},
    "content": {
        "mode": "elem",
        "label_smoothing": 0.0,
        "pairing": "permutation",
        "placement": "target_background",
        "label_weights": "saliency",
    },
}


def official_mix(
    images: list[np.ndarray], perm: list[np.ndarray], lam: list[np.ndarray]
) -> list[np.ndarray]:
    """OpenCV saliency per sample (the official code's saliency_bbox), box on its peak, paste."""
    detector = cv2.saliency.StaticSaliencyFineGrained_create()
    out = []
    for i, image in enumerate(images):
        j = int(perm[i])
        source = images[j]
        _, saliency = detector.computeSaliency(np.ascontiguousarray(source[..., ::-1]))
        cy, cx = np.unravel_index(int(np.argmax(saliency)), saliency.shape)
        ratio = np.sqrt(1.0 - float(lam[i]))
        half_h, half_w = int(SIZE * ratio) // 2, int(SIZE * ratio) // 2
        y1, y2 = np.clip([cy - half_h, cy + half_h], 0, SIZE)
        x1, x2 = np.clip([cx - half_w, cx + half_w], 0, SIZE)
        mixed = image.copy()
        mixed[y1:y2, x1:x2] = source[y1:y2, x1:x2]
        out.append(mixed)
    return out


def cutmix_builtins(images, labels):  # noqa: ANN001, ANN201
    """Plain CutMix from DALI built-ins: random centre, multi_paste, arithmetic soft labels."""
    perm = fn.batch_permutation()
    lam = fn.random.beta(alpha=1.0, beta=1.0)
    half = fn.cast(SIZE * dmath.sqrt(1.0 - lam) / 2, dtype=types.INT32)
    cy = fn.cast(fn.random.uniform(range=[0, SIZE]), dtype=types.INT32)
    cx = fn.cast(fn.random.uniform(range=[0, SIZE]), dtype=types.INT32)
    y1 = dmath.clamp(cy - half, 0, SIZE)
    y2 = dmath.clamp(cy + half, 0, SIZE)
    x1 = dmath.clamp(cx - half, 0, SIZE)
    x2 = dmath.clamp(cx + half, 0, SIZE)
    anchor = fn.reshape(fn.stack(y1, x1), shape=[1, 2])
    shape = fn.reshape(fn.stack(y2 - y1, x2 - x1), shape=[1, 2])
    mixed = fn.multi_paste(
        images,
        in_ids=fn.reshape(perm, shape=[1]),
        in_anchors=anchor,
        shapes=shape,
        out_anchors=anchor,
    )
    weight = 1.0 - fn.cast((y2 - y1) * (x2 - x1), dtype=types.FLOAT) / float(SIZE * SIZE)
    one_hot = fn.one_hot(fn.reshape(labels, shape=[]), num_classes=CLASSES)
    soft = one_hot * weight + fn.permute_batch(one_hot, indices=perm) * (1.0 - weight)
    return mixed, soft


def training_pipeline(variant: str, batch_size: int, threads: int) -> Pipeline:
    """The CPU training pipeline with one mixing variant."""

    @pipeline_def(
        batch_size=batch_size,
        num_threads=threads,
        device_id=None,
        seed=42,
        py_start_method="fork",
    )
    def pipe():  # noqa: ANN202
        jpegs, labels = fn.readers.file(
            file_root=str(PHOTO_DIR), random_shuffle=True, name="Reader"
        )
        images = fn.decoders.image_random_crop(jpegs, device="cpu", output_type=types.RGB)
        images = fn.resize(images, size=(SIZE, SIZE))
        if variant == "ours":
            images, labels = dali_saliencymix.saliency_mix(
                images, labels, num_classes=CLASSES, mode="elem"
            )
        elif variant in FAMILY:
            images, labels = dali_saliencymix.mix(
                images, labels, num_classes=CLASSES, **FAMILY[variant]
            )
        elif variant == "cutmix":
            images, labels = cutmix_builtins(images, labels)
        elif variant == "official":
            perm = fn.batch_permutation()
            lam = fn.random.beta(alpha=1.0, beta=1.0)
            images = fn.python_function(
                images, perm, lam, function=official_mix, batch_processing=True
            )
        images = fn.crop_mirror_normalize(
            images,
            dtype=types.FLOAT,
            output_layout="CHW",
            mirror=fn.random.coin_flip(),
            mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
            std=[0.229 * 255, 0.224 * 255, 0.225 * 255],
        )
        return images, labels

    p = pipe()
    p.build()
    return p


def images_per_second(p: Pipeline, batches: int, batch_size: int) -> float:
    """Images per second over `batches` runs after three warm-up runs."""
    for _ in range(3):
        p.run()
    start = time.perf_counter()
    for _ in range(batches):
        p.run()
    return batches * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    variants = ("none", "ours", "content", "mixup", "recipe", "recipe-rand", "cutmix", "official")
    pipes = {v: training_pipeline(v, args.batch_size, args.threads) for v in variants}
    results = dict.fromkeys(variants, 0.0)
    # Interleaved rounds, best of each, so that drifts of the machine hit every variant alike.
    for _ in range(args.rounds):
        for variant in variants:
            batches = max(3, args.batches // 6) if variant == "official" else args.batches
            time.sleep(1.0)  # let the other pipelines finish filling their prefetch queues
            ips = images_per_second(pipes[variant], batches, args.batch_size)
            results[variant] = max(results[variant], ips)
    print(
        f"CPU DALI pipeline, {args.threads} threads, batch {args.batch_size}, "
        f"{SIZE}x{SIZE} random resized crops of the shipped photos; best of {args.rounds} "
        f"interleaved rounds"
    )
    print()
    print("| mixing | images/s | vs no mixing |")
    print("|---|---|---|")
    names = {
        "none": "none",
        "ours": "SaliencyMix, ours (fn.saliency_mix, elem)",
        "content": "SaliencyMix + target_background + saliency weights, ours (mix, elem)",
        "mixup": "MixUp, ours (mix, alpha 0.8, elem)",
        "recipe": "timm's DeiT recipe, ours, SaliencyMix boxes (mix, batch)",
        "recipe-rand": "timm's DeiT recipe, ours, random boxes (mix, batch)",
        "cutmix": "CutMix from DALI built-ins (multi_paste)",
        "official": "official approach (OpenCV saliency per sample, python_function)",
    }
    for variant, ips in results.items():
        print(f"| {names[variant]} | {ips:.0f} | {ips / results['none']:.2f} |")


if __name__ == "__main__":
    main()
