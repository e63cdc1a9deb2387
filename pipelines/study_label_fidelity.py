#!/usr/bin/env python3
"""Label fidelity of CutMix-style mixing: how much of each image's salient content survives in
the mixed sample, and whether the label weight follows it (content fidelity, not accuracy: no
model is trained).

For many (target, source, lam) draws (random resized crops of the images to size x size,
lam ~ Beta(1, 1)), every method mixes the same draws, and per mixed sample, with the saliency
maps of the two crops (the project's fine-grained saliency, uint8; masses are integer sums):

  source share    S_in / S_total: the source's saliency mass inside the pasted patch;
  target covered  T_covered / T_total: the target's saliency mass the patch covers;
  label gap       (1 - lam) - S_in / (S_in + T_vis): the source's label weight minus its share
                  of the salient content left in the mixed image (T_vis = T_total - T_covered;
                  the area share when S_in + T_vis = 0).

A share is undefined when its total is 0 (a flat crop): those samples are skipped and counted.
Methods (docs/label_fidelity.md):

  cutmix             CutMix, random box (box="random"), area weights
  saliencymix        SaliencyMix as in the paper: box centred on the source's saliency peak,
                     pasted at the same place, area weights
  official           the official code's saliency: OpenCV's StaticSaliencyFineGrained on the
                     ImageNet-normalised float32 crop (HWC, as saliency_bbox transposes it),
                     which OpenCV reads as bytes; its peak centres the box; area weights
  target_background  SaliencyMix's box pasted where it covers the least target saliency (the
                     paper's "Salient to Non-Salient", which trained worse in its ablation)
  saliency_weights   SaliencyMix with label_weights="saliency"
  both               both options together

Writes table.md and (with matplotlib, the `plots` extra) figure.png to --out, and prints the
table.

    python pipelines/study_label_fidelity.py [--data DIR] [--pairs 2000] [--size 224]
        [--seed 0] [--out out/label_fidelity]
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from dali_saliencymix import MixConfig
from dali_saliencymix.numpy import MixDraws, mix, saliency_map

PHOTO_DIR = Path(__file__).resolve().parents[1] / "dali_saliencymix" / "data" / "photos"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
CHUNK = 64  # pairs mixed per call

# name: (label, MixConfig fields); "official" computes its box here (its peak is OpenCV's).
METHODS: dict[str, tuple[str, dict[str, str]]] = {
    "cutmix": ("CutMix, random box", {"box": "random"}),
    "saliencymix": ("SaliencyMix (paper)", {}),
    "official": ("SaliencyMix, official code's float-input saliency", {}),
    "target_background": (
        "SaliencyMix + placement target_background",
        {"placement": "target_background"},
    ),
    "saliency_weights": ("SaliencyMix + label_weights saliency", {"label_weights": "saliency"}),
    "both": (
        "SaliencyMix + target_background + saliency weights",
        {"placement": "target_background", "label_weights": "saliency"},
    ),
}
METRICS = {
    "source_share": "source share: S_in / S_total",
    "target_covered": "target covered: T_covered / T_total",
    "gap": "label gap: (1 - lam) - S_in / (S_in + T_vis)",
}


def image_paths(root: Path) -> list[Path]:
    """Every image file under `root` (a class folder or a plain folder, any depth), sorted."""
    if not root.is_dir():
        raise SystemExit(f"--data: {root} is not a folder")
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if len(paths) < 2:
        raise SystemExit(f"--data: expected at least 2 images under {root}, found {len(paths)}")
    return paths


def random_resized_crop(image: Image.Image, size: int, rng: np.random.Generator) -> np.ndarray:
    """torchvision's RandomResizedCrop (scale 0.08..1, ratio 3/4..4/3, 10 tries, else the
    centre crop), bilinear, as uint8 RGB."""
    w, h = image.size
    area = w * h
    for _ in range(10):
        target = area * rng.uniform(0.08, 1.0)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = round(math.sqrt(target * ratio)), round(math.sqrt(target / ratio))
        if 0 < cw <= w and 0 < ch <= h:
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            break
    else:
        cw = ch = min(w, h)
        x, y = (w - cw) // 2, (h - ch) // 2
    crop = image.resize((size, size), Image.BILINEAR, box=(x, y, x + cw, y + ch))
    return np.asarray(crop, dtype=np.uint8)


def official_peak(image: np.ndarray) -> tuple[int, int]:
    """The peak the official SaliencyMix code finds: ToTensor and ImageNet Normalize in float32,
    the CHW tensor transposed to HWC (`img.cpu().numpy().transpose(1, 2, 0)`) and handed to
    OpenCV's StaticSaliencyFineGrained, which reads the float32 data where it expects bytes;
    the first maximum of (map * 255) as uint8."""
    import cv2  # the test extra: opencv-contrib-python-headless

    x = image.astype(np.float32) / np.float32(255.0)
    chw = np.ascontiguousarray(((x - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1))
    ok, saliency = cv2.saliency.StaticSaliencyFineGrained_create().computeSaliency(
        chw.transpose(1, 2, 0)
    )
    if not ok:
        raise RuntimeError("OpenCV's computeSaliency failed on the float32 input")
    saliency = (saliency * 255).astype("uint8")
    y, x0 = np.unravel_index(int(np.argmax(saliency)), saliency.shape)
    return int(y), int(x0)


def centred_box(size: int, lam: float, cy: int, cx: int) -> tuple[int, int, int, int]:
    """SaliencyMix's box (the official code's, for a square crop): cut = int(size *
    sqrt(1 - lam)), [c - cut // 2, c + cut // 2) clipped to the image, in double."""
    cut = int(size * math.sqrt(1.0 - float(lam)))
    y1, y2 = (int(v) for v in np.clip([cy - cut // 2, cy + cut // 2], 0, size))
    x1, x2 = (int(v) for v in np.clip([cx - cut // 2, cx + cut // 2], 0, size))
    return y1, x1, y2, x2


def integral(saliency: np.ndarray) -> np.ndarray:
    """int64 integral image ((H + 1) x (W + 1)) of a uint8 map."""
    out = np.zeros((saliency.shape[0] + 1, saliency.shape[1] + 1), np.int64)
    out[1:, 1:] = saliency.astype(np.int64).cumsum(0).cumsum(1)
    return out


def box_mass(ii: np.ndarray, box: Sequence[int]) -> int:
    y1, x1, y2, x2 = (int(v) for v in box)
    return int(ii[y2, x2] - ii[y1, x2] - ii[y2, x1] + ii[y1, x1])


@dataclass
class Study:
    """Per method and metric, one value per mixed sample (NaN where undefined)."""

    size: int
    pairs: int
    images: int
    values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    covered_mass: dict[str, np.ndarray] = field(default_factory=dict)  # T_covered per sample
    boxes: dict[str, np.ndarray] = field(default_factory=dict)  # (y1, x1, y2, x2) in the source
    dests: dict[str, np.ndarray] = field(default_factory=dict)  # ... where it went in the target


def metrics(
    target_ii: np.ndarray,
    source_ii: np.ndarray,
    box: Sequence[int],
    dest: Sequence[int],
    lam: float,
    size: int,
) -> tuple[float, float, float, int]:
    """(source share, target covered, gap, T_covered) of one mixed sample."""
    s_total, t_total = int(source_ii[-1, -1]), int(target_ii[-1, -1])
    s_in, t_covered = box_mass(source_ii, box), box_mass(target_ii, dest)
    t_visible = t_total - t_covered
    share = s_in / s_total if s_total else math.nan
    covered = t_covered / t_total if t_total else math.nan
    if s_in + t_visible > 0:
        content = s_in / (s_in + t_visible)
    else:  # flat maps: the area share, as label_weights="saliency" falls back to
        content = (box[2] - box[0]) * (box[3] - box[1]) / (size * size)
    return share, covered, (1.0 - float(lam)) - content, t_covered


def run_study(paths: list[Path], pairs: int, size: int, seed: int) -> Study:
    """Mix `pairs` random (target, source, lam) draws with every method; the metrics."""
    rng = np.random.default_rng(seed)
    photos = [Image.open(p).convert("RGB") for p in paths]
    study = Study(size=size, pairs=pairs, images=len(paths))
    rows: dict[str, list[tuple[float, float, float, int]]] = {m: [] for m in METHODS}
    places: dict[str, list[tuple[Sequence[int], Sequence[int]]]] = {m: [] for m in METHODS}
    for start in range(0, pairs, CHUNK):
        count = min(CHUNK, pairs - start)
        t_idx = rng.integers(0, len(photos), count)
        s_idx = (t_idx + rng.integers(1, len(photos), count)) % len(photos)  # another image
        targets = [random_resized_crop(photos[k], size, rng) for k in t_idx]
        sources = [random_resized_crop(photos[k], size, rng) for k in s_idx]
        lam = rng.beta(1.0, 1.0, count).astype(np.float32)
        box_draw = rng.random((count, 4), dtype=np.float32)
        # One batch: targets then sources; target i mixes with source count + i.
        images = np.stack(targets + sources)
        n = 2 * count
        draws = MixDraws(
            source=np.concatenate([np.arange(count, n), np.arange(count)]).astype(np.int32),
            lam=np.concatenate([lam, lam]),
            apply=np.concatenate([np.ones(count), np.zeros(count)]).astype(np.uint8),
            box=np.concatenate([box_draw, box_draw]),
        )
        labels = np.zeros(n, np.int64)
        maps = [integral(saliency_map(image)[0]) for image in images]
        for name, (_, fields) in METHODS.items():
            if name == "official":
                for i in range(count):
                    box = centred_box(size, lam[i], *official_peak(sources[i]))
                    area = (box[2] - box[0]) * (box[3] - box[1])
                    weight = np.float32(1.0 - area / (size * size))
                    rows[name].append(metrics(maps[i], maps[count + i], box, box, weight, size))
                    places[name].append((box, box))
                continue
            options = MixConfig(num_classes=1, mode="elem", **fields)
            _, _, boxes, lams, _, *moved = mix(
                images, labels, options, draws=draws, return_info=True
            )
            dests = moved[0] if moved else boxes
            for i in range(count):
                rows[name].append(
                    metrics(maps[i], maps[count + i], boxes[i], dests[i], lams[i], size)
                )
                places[name].append((boxes[i], dests[i]))
    for name, values in rows.items():
        table = np.array(values, dtype=np.float64).reshape(-1, 4)
        study.values[name] = {m: table[:, k] for k, m in enumerate(METRICS)}
        study.covered_mass[name] = table[:, 3].astype(np.int64)
        study.boxes[name] = np.array([b for b, _ in places[name]], np.int32).reshape(-1, 4)
        study.dests[name] = np.array([d for _, d in places[name]], np.int32).reshape(-1, 4)
    return study


def number(v: float) -> str:
    """Three decimals, without a "-0.000"."""
    text = f"{v:.3f}"
    return "0.000" if text == "-0.000" else text


def summary_table(study: Study) -> str:
    """Markdown: per metric, per method, mean, median, p10, p90 and n (defined samples); for the
    label gap also the mean of its absolute value."""
    lines = []
    for metric, title in METRICS.items():
        gap = metric == "gap"
        extra = " mean abs |" if gap else ""
        lines += [f"**{title}**", "", f"| method | mean | median | p10 | p90 |{extra} n |"]
        lines.append("|---|---|---|---|---|---|" + ("---|" if gap else ""))
        for name, (label, _) in METHODS.items():
            v = study.values[name][metric]
            v = v[~np.isnan(v)]
            if v.size == 0:
                lines.append(f"| {label} | - | - | - | - |{' - |' if gap else ''} 0 |")
                continue
            p10, median, p90 = np.percentile(v, [10, 50, 90])
            cells = [v.mean(), median, p10, p90] + ([np.abs(v).mean()] if gap else [])
            lines.append(f"| {label} | " + " | ".join(number(c) for c in cells) + f" | {v.size} |")
        undefined = {
            name: study.pairs - int((~np.isnan(study.values[name][metric])).sum())
            for name in METHODS
        }
        if any(undefined.values()):
            counts = ", ".join(f"{n} {k}" for n, k in undefined.items() if k)
            lines += ["", f"undefined (a flat crop: total mass 0), skipped: {counts}", ""]
        else:
            lines += ["", f"all {study.pairs} samples defined", ""]
    sp, tb = study.covered_mass["saliencymix"], study.covered_mass["target_background"]
    lines.append(
        "target_background vs SaliencyMix, target mass covered per sample (same draws): "
        f"less {int((tb < sp).sum())}, equal {int((tb == sp).sum())}, "
        f"more {int((tb > sp).sum())} (more: SaliencyMix's place is off the stride-8 grid)."
    )
    return "\n".join(lines) + "\n"


def write_figure(study: Study, path: Path) -> bool:
    """Box plots (whiskers p10..p90, means marked), one panel per metric; False without
    matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = list(METHODS)
    # Horizontal boxes: `orientation` from Matplotlib 3.10 on, `vert` before it.
    horizontal = (
        {"orientation": "horizontal"}
        if "orientation" in inspect.signature(plt.Axes.boxplot).parameters
        else {"vert": False}
    )
    fig, axes = plt.subplots(1, len(METRICS), figsize=(14, 4.6), sharey=True)
    for ax, (metric, title) in zip(axes, METRICS.items(), strict=True):
        data = [study.values[n][metric][~np.isnan(study.values[n][metric])] for n in names]
        ax.boxplot(data, whis=(10, 90), showfliers=False, showmeans=True, **horizontal)
        ax.set_yticks(range(1, len(names) + 1), [METHODS[n][0] for n in names])
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        if metric == "gap":
            ax.axvline(0.0, color="grey", lw=0.8)
    axes[0].invert_yaxis()
    fig.suptitle(
        f"Content fidelity of mixed samples ({study.pairs} draws, {study.images} images, "
        f"{study.size}x{study.size} crops; box: p25-p75, whiskers p10-p90, triangle: mean)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> Study:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=PHOTO_DIR, help="class or image folder")
    parser.add_argument("--pairs", type=int, default=2000, help="mixed samples per method")
    parser.add_argument("--size", type=int, default=224, help="crop side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out/label_fidelity"))
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.size < 1:
        parser.error("--pairs and --size must be >= 1")
    paths = image_paths(args.data)
    study = run_study(paths, args.pairs, args.size, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    header = (
        f"{args.pairs} mixed samples per method from {len(paths)} images under {args.data}, "
        f"{args.size}x{args.size} random resized crops, lam ~ Beta(1, 1), seed {args.seed}. "
        "Content fidelity of the mixed samples, not accuracy: no model was trained.\n\n"
    )
    table = header + summary_table(study)
    (args.out / "table.md").write_text(table)
    try:
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(table))
    except ImportError:
        print(table)
    if write_figure(study, args.out / "figure.png"):
        print(f"wrote {args.out / 'table.md'} and {args.out / 'figure.png'}")
    else:
        print(
            f"wrote {args.out / 'table.md'}; no figure: matplotlib is not installed "
            '(pip install "dali-saliencymix[plots]")',
            file=sys.stderr,
        )
    return study


if __name__ == "__main__":
    main()
