"""Images per second of the training pipeline with and without mixing, in one run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dali_saliencymix.data.folder import ImageFolder, scan_image_folder
from dali_saliencymix.options import MixConfig
from dali_saliencymix.pipeline.factories import train_pipeline


def mix_name(mix: MixConfig) -> str:
    """A short name of a mixing configuration, e.g. ``SaliencyMix (elem)``."""
    kinds = []
    if mix.uses_mixup:
        kinds.append(f"MixUp {mix.mixup_alpha:g}")
    if mix.uses_cutmix:
        kinds.append("SaliencyMix" if mix.box == "saliency" else "CutMix")
    return f"{' + '.join(kinds)} ({mix.mode})"


@dataclass
class BenchRow:
    """Throughput of one pipeline variant."""

    name: str
    images_per_second: float


def bench_pipelines(
    root: Path | ImageFolder,
    *,
    device_id: int | None,
    batch_size: int,
    batches: int,
    size: int = 224,
    num_threads: int = 2,
    mix: MixConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[BenchRow]:
    """Images per second of the training pipeline without and with SaliencyMix (same run)."""
    if batches < 1 or batch_size < 1 or size < 1:
        raise ValueError(
            f"bench: batches, batch size and size must be >= 1, got {batches}, {batch_size}, {size}"
        )
    folder = root if isinstance(root, ImageFolder) else scan_image_folder(root)
    mix = mix or MixConfig(num_classes=folder.num_classes)
    variants = [
        ("no mixing", MixConfig(num_classes=mix.num_classes, enabled=False)),
        (mix_name(mix), mix),
    ]
    rows = []
    for name, config in variants:
        p = train_pipeline(
            folder,
            batch_size=batch_size,
            num_threads=num_threads,
            device_id=device_id,
            crop=size,
            mix=config,
        )
        for _ in range(2):
            p.run()
        start = time.perf_counter()
        for _ in range(batches):
            outputs = p.run()
            if progress:
                progress(1)
        if device_id is not None:
            outputs[0].as_cpu()  # wait for the GPU work of the last batch
        rows.append(BenchRow(name, batches * batch_size / (time.perf_counter() - start)))
        del p
    return rows
