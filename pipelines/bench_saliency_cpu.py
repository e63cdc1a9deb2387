#!/usr/bin/env python3
"""CPU speed of the saliency, side by side in one run on the same 224x224 photo crops.

Prints a Markdown table: OpenCV's StaticSaliencyFineGrained on one thread, per image; ours (the
kernels' C API) on one thread, per image; their ratio (after checking the outputs are identical);
and a CPU DALI pipeline with `fn.fine_grained_saliency` at 2 threads, in images per second.

    python pipelines/bench_saliency_cpu.py [--crops 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import cv2
import numpy as np
from nvidia.dali import fn, pipeline_def
from PIL import Image

import dali_saliencymix
from dali_saliencymix.numpy import saliency_map

PHOTO_DIR = Path(dali_saliencymix.__file__).resolve().parent / "data" / "photos"


def photo_crops(n: int, size: int = 224, seed: int = 0) -> list[np.ndarray]:
    """n random size x size RGB crops of the shipped colour photos."""
    rng = np.random.default_rng(seed)
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(PHOTO_DIR.glob("*/*.jpg"))]
    crops = []
    for i in range(n):
        p = photos[i % len(photos)]
        y = int(rng.integers(0, p.shape[0] - size + 1))
        x = int(rng.integers(0, p.shape[1] - size + 1))
        crops.append(np.ascontiguousarray(p[y : y + size, x : x + size]))
    return crops


def per_image_ms(fn_one: object, images: list[np.ndarray], repeats: int) -> float:
    """Best-of-`repeats` mean milliseconds per image of fn_one over all images."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for im in images:
            fn_one(im)
        best = min(best, (time.perf_counter() - start) / len(images) * 1e3)
    return best


def dali_images_per_second(images: list[np.ndarray], threads: int, batches: int) -> float:
    """Images per second of external_source -> fine_grained_saliency on the CPU."""

    @pipeline_def(batch_size=len(images), num_threads=threads, device_id=None)
    def pipe():  # noqa: ANN202
        data = fn.external_source(source=lambda: images, layout="HWC", batch=True)
        return dali_saliencymix.fine_grained_saliency(data)

    p = pipe()
    p.build()
    for _ in range(3):
        p.run()
    start = time.perf_counter()
    for _ in range(batches):
        p.run()
    return batches * len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()

    cv2.setNumThreads(1)
    crops = photo_crops(args.crops)
    detector = cv2.saliency.StaticSaliencyFineGrained_create()
    bgr = [np.ascontiguousarray(c[..., ::-1]) for c in crops]

    identical = all(
        np.array_equal((detector.computeSaliency(b)[1] * 255).astype(np.uint8), saliency_map(c)[0])
        for b, c in zip(bgr, crops, strict=True)
    )
    opencv_ms = per_image_ms(lambda b: detector.computeSaliency(b), bgr, args.repeats)
    ours_ms = per_image_ms(saliency_map, crops, args.repeats)
    dali_ips = dali_images_per_second(crops, 2, args.batches)

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    print(
        f"machine: {cpu}, {len(__import__('os').sched_getaffinity(0))} cores; "
        f"OpenCV {cv2.__version__}; {len(crops)} photo crops of 224x224; "
        f"outputs identical: {identical}"
    )
    print()
    print("| what (224x224 RGB) | per image | images/s | vs OpenCV |")
    print("|---|---|---|---|")
    print(
        f"| OpenCV StaticSaliencyFineGrained, 1 thread | {opencv_ms:.3f} ms | "
        f"{1e3 / opencv_ms:.0f} | 1.0x |"
    )
    print(
        f"| ours, C API, 1 thread | {ours_ms:.3f} ms | {1e3 / ours_ms:.0f} | "
        f"{opencv_ms / ours_ms:.1f}x |"
    )
    print(
        f"| ours, DALI CPU pipeline (external_source -> fine_grained_saliency), 2 threads | "
        f"{1e3 / dali_ips:.3f} ms | {dali_ips:.0f} | {dali_ips * opencv_ms / 1e3:.1f}x |"
    )
    if not identical:
        raise SystemExit("outputs differ from OpenCV")


if __name__ == "__main__":
    main()
