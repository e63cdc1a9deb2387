#!/usr/bin/env python3
"""What "nothing lost, nothing silently wrong" costs: the shards' decode check, the resume's data
fingerprint and the checkpoint's temporary file, each timed beside what it adds to.

Prints a Markdown table:

- ``shards`` of a generated folder of ImageNet-like JPEGs (500x375, quality 96 with noise):
  decoding every file first and writing (``write_folder_shards``), beside writing alone
  (``write_shards``), in files per second;
- the fingerprint of an ImageNet-sized file list (1,281,167 paths, in memory), in seconds;
- a ResNet-50-sized checkpoint (25.6M parameters and as many momentum values, float32) saved
  with ``torch.save`` to its file, beside the trainer's way (a temporary file, fsync, rename).

    python pipelines/bench_nothing_lost.py [--files 600] [--repeats 3] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dali_saliencymix.app.train.checkpoint import data_fingerprint
from dali_saliencymix.data.folder import ImageFolder
from dali_saliencymix.data.shard_writer import folder_samples, write_folder_shards, write_shards
from dali_saliencymix.data.writing import atomic_path

IMAGENET_FILES = 1_281_167
RESNET50_PARAMETERS = 25_557_032


def imagenet_like(root: Path, files: int, classes: int = 10) -> Path:
    """`files` noisy 500x375 JPEGs (quality 96) in `classes` class folders."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (375, 500, 3)).astype(np.int16)
    for k in range(files):
        folder = root / f"n{k % classes:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        noise = rng.integers(-40, 41, base.shape, dtype=np.int16)
        pixels = np.clip(np.roll(base, k * 7, axis=1) + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{k:06d}.JPEG", quality=96)
    return root


def best(seconds: list[float]) -> float:
    return min(seconds)


def time_shards(data: Path, work: Path, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of write_folder_shards (decode, then write) and of write_shards (write only)."""
    checked, plain = [], []
    classes, samples = folder_samples(data)
    for _ in range(repeats):
        for out, timings, write in (
            (work / "checked", checked, lambda o: write_folder_shards(data, o, shard_size=100)),
            (
                work / "plain",
                plain,
                lambda o: write_shards(samples, o, shard_size=100, class_names=classes),
            ),
        ):
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            write(out)
            timings.append(time.perf_counter() - start)
            shutil.rmtree(out)
    return checked, plain


def time_fingerprint(repeats: int) -> list[float]:
    """Seconds to fingerprint an ImageNet-sized list of paths and labels."""
    root = Path("/data/imagenet/train")
    files = [root / f"n{k % 1000:08d}" / f"n{k % 1000:08d}_{k}.JPEG" for k in range(IMAGENET_FILES)]
    folder = ImageFolder(
        root, [f"n{c:08d}" for c in range(1000)], files, [k % 1000 for k in range(IMAGENET_FILES)]
    )
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        data_fingerprint(folder)
        out.append(time.perf_counter() - start)
    return out


def time_saves(work: Path, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of torch.save to the file, and through a temporary file (fsync, rename)."""
    state = {
        "model": {"weights": torch.randn(RESNET50_PARAMETERS)},
        "optimizer": {"momentum": torch.randn(RESNET50_PARAMETERS)},
    }
    direct, atomic = [], []
    path = work / "ckpt.pt"
    for _ in range(repeats):
        start = time.perf_counter()
        torch.save(state, path)
        direct.append(time.perf_counter() - start)
        start = time.perf_counter()
        with atomic_path(path) as temp:
            torch.save(state, temp)
        atomic.append(time.perf_counter() - start)
    path.unlink()
    return direct, atomic


def main() -> None:
    """Generate the data, time each pair, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=600, help="JPEGs to generate")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.work) as scratch:
        work = Path(scratch)
        data = imagenet_like(work / "data", args.files)
        checked, plain = time_shards(data, work, args.repeats)
        fingerprint = time_fingerprint(args.repeats)
        direct, atomic = time_saves(work, args.repeats)
    n = args.files
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {n} files")
    print("| what | best of runs | all runs |")
    print("|---|---|---|")
    rates = ", ".join(f"{n / s:.0f}" for s in checked)
    print(f"| shards, decode + write (files/s) | {n / best(checked):.0f} | {rates} |")
    rates = ", ".join(f"{n / s:.0f}" for s in plain)
    print(f"| shards, write only (files/s) | {n / best(plain):.0f} | {rates} |")
    runs = ", ".join(f"{s:.2f}" for s in fingerprint)
    print(f"| fingerprint of 1,281,167 paths (s) | {best(fingerprint):.2f} | {runs} |")
    runs = ", ".join(f"{s:.2f}" for s in direct)
    print(f"| ResNet-50-sized checkpoint, torch.save (s) | {best(direct):.2f} | {runs} |")
    runs = ", ".join(f"{s:.2f}" for s in atomic)
    print(f"| same, temporary file + fsync + rename (s) | {best(atomic):.2f} | {runs} |")


if __name__ == "__main__":
    main()
