#!/usr/bin/env python3
"""Time of timm's FastCollateMixup and Mixup against the drop-ins (dali_saliencymix.timm), CPU.

A batch of 224x224 crops of the shipped photos, CutMix (cutmix_alpha 1.0) and timm's DeiT recipe
(mixup 0.8, cutmix 1.0), modes batch and elem, one torch thread (a loader worker's):
  FastCollateMixup  uint8 CHW samples -> mixed uint8 NCHW batch (timm's prefetcher path)
  Mixup             normalised float32 NCHW batch -> mixed batch (timm's --no-prefetcher path)
for timm's class, the drop-in with timm's box (box="random") and with SaliencyMix's
(box="saliency"). Best of interleaved rounds; milliseconds per batch and the ratio to timm's.
Needs timm (a working `import timm`).

    python pipelines/bench_timm_dropin.py [--batch-size 64] [--rounds 5] [--calls 4]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from timm.data import mixup as timm_mixup

import dali_saliencymix
from dali_saliencymix import timm as dropin

PHOTO_DIR = Path(dali_saliencymix.__file__).resolve().parent / "data" / "photos"
SIZE = 224
RECIPES = {
    "cutmix": {"mixup_alpha": 0.0, "cutmix_alpha": 1.0},
    "deit": {"mixup_alpha": 0.8, "cutmix_alpha": 1.0},
}
MEAN = torch.tensor([0.485 * 255, 0.456 * 255, 0.406 * 255]).view(1, 3, 1, 1)
STD = torch.tensor([0.229 * 255, 0.224 * 255, 0.225 * 255]).view(1, 3, 1, 1)


def samples(n: int) -> list[tuple[np.ndarray, int]]:
    """n (uint8 CHW crop, class id) samples: random 224x224 crops of the photos."""
    rng = np.random.default_rng(0)
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(PHOTO_DIR.glob("*/*.jpg"))]
    out = []
    for i in range(n):
        photo = photos[i % len(photos)]
        y = rng.integers(0, photo.shape[0] - SIZE + 1)
        x = rng.integers(0, photo.shape[1] - SIZE + 1)
        crop = photo[y : y + SIZE, x : x + SIZE].transpose(2, 0, 1)
        out.append((np.ascontiguousarray(crop), i % 4))
    return out


def makers(recipe: dict, mode: str) -> dict:
    """The timed variants: name -> (collate function, float mixup function)."""
    kwargs = {**recipe, "mode": mode, "num_classes": 4}
    return {
        "timm": (timm_mixup.FastCollateMixup(**kwargs), timm_mixup.Mixup(**kwargs)),
        "drop-in, box=random": (
            dropin.FastCollateMixup(**kwargs, box="random"),
            dropin.Mixup(**kwargs, box="random"),
        ),
        "drop-in, box=saliency": (dropin.FastCollateMixup(**kwargs), dropin.Mixup(**kwargs)),
    }


def best_ms(run: object, rounds: int, calls: int, best: dict, key: tuple) -> None:
    """Time `calls` calls of `run` (one round); keep the best round's ms per call in `best`."""
    start = time.perf_counter()
    for _ in range(calls):
        run()
    ms = (time.perf_counter() - start) * 1000 / calls
    best[key] = min(best.get(key, float("inf")), ms)


def main(argv: list[str] | None = None) -> dict:
    """Print the Markdown table; returns {(recipe, mode, variant, path): ms per batch}."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=4)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    batch = samples(args.batch_size)
    labels = torch.tensor([y for _, y in batch])
    x = torch.from_numpy(np.stack([im for im, _ in batch])).float().sub_(MEAN).div_(STD)
    best: dict = {}
    for _ in range(args.rounds):  # interleaved: every variant in every round
        for recipe, options in RECIPES.items():
            for mode in ("batch", "elem"):
                for name, (collate, mix) in makers(options, mode).items():
                    np.random.seed(0)
                    best_ms(lambda c=collate: c(batch), args.rounds, args.calls, best,
                            (recipe, mode, name, "FastCollateMixup"))  # fmt: skip
                    best_ms(lambda m=mix: m(x.clone(), labels), args.rounds, args.calls, best,
                            (recipe, mode, name, "Mixup"))  # fmt: skip
    print("| recipe, mode | variant | FastCollateMixup ms | vs timm | Mixup ms | vs timm |")
    print("|---|---|---|---|---|---|")
    for (recipe, mode, name, path), ms in best.items():
        if path != "FastCollateMixup":
            continue
        base_c = best[(recipe, mode, "timm", "FastCollateMixup")]
        mix_ms = best[(recipe, mode, name, "Mixup")]
        base_m = best[(recipe, mode, "timm", "Mixup")]
        print(
            f"| {recipe}, {mode} | {name} | {ms:.1f} | {ms / base_c:.2f}x | {mix_ms:.1f} | "
            f"{mix_ms / base_m:.2f}x |"
        )
    return best


if __name__ == "__main__":
    main()
