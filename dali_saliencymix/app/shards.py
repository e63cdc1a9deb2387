"""The ``shards`` command: write a class folder as WebDataset tar shards, with a progress bar."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.text import Text

from dali_saliencymix.app.progress import file_progress
from dali_saliencymix.data.shard_writer import write_folder_shards
from dali_saliencymix.data.shards import MANIFEST, load_manifest


def shards_command(
    data_dir: str | Path,
    out_dir: str | Path,
    shard_size: int,
    console: Console,
    *,
    shuffle_seed: int | None = 0,
    classes: Sequence[str] | None = None,
) -> list[Path]:
    """Scan `data_dir` and write its shards into `out_dir`; print what was written.

    `classes`: the class map to write the ids in (the training data's, for a validation folder).
    """
    with file_progress(console) as bar:
        task = bar.add_task("scanning", total=None)
        tars = write_folder_shards(
            data_dir,
            out_dir,
            shard_size=shard_size,
            classes=classes,
            shuffle_seed=shuffle_seed,
            on_scanned=lambda n: bar.update(task, description="writing shards", total=n),
            progress=lambda k: bar.advance(task, k),
        )
    size = sum(p.stat().st_size for p in tars)
    manifest = load_manifest(out_dir)
    console.print(
        Text(
            f"wrote {manifest.num_samples} images of {manifest.num_classes} classes to "
            f"{len(tars)} shards ({size / 2**20:.1f} MiB) in {out_dir}; class map in "
            f"{Path(out_dir) / MANIFEST}"
        )
    )
    return tars
