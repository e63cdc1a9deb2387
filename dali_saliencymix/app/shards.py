"""The ``shards`` command: decode a class folder, write it as WebDataset tar shards."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.text import Text

from dali_saliencymix._text import counted
from dali_saliencymix.app.progress import file_progress
from dali_saliencymix.data.names import printable
from dali_saliencymix.data.shard_writer import write_folder_shards
from dali_saliencymix.data.shards import MANIFEST, load_manifest

# Left-out files named on the console; the manifest lists them all.
SHOWN = 10


def shards_command(
    data_dir: str | Path,
    out_dir: str | Path,
    shard_size: int,
    console: Console,
    *,
    shuffle_seed: int | None = 0,
    classes: Sequence[str] | None = None,
    skip_bad: bool = False,
) -> list[Path]:
    """Scan and decode `data_dir`, write its shards into `out_dir`; print what was written.

    `classes`: the class map to write the ids in (the training data's, for a validation folder).
    `skip_bad`: leave out the files that cannot be used (else they stop the command, named).
    """
    with file_progress(console) as bar:
        task = bar.add_task("scanning", total=None)

        def phase(name: str, total: int) -> None:
            bar.reset(task, description=name, total=total)

        tars = write_folder_shards(
            data_dir,
            out_dir,
            shard_size=shard_size,
            classes=classes,
            shuffle_seed=shuffle_seed,
            skip_bad=skip_bad,
            on_phase=phase,
            progress=lambda k: bar.advance(task, k),
        )
    size = sum(p.stat().st_size for p in tars)
    manifest = load_manifest(out_dir)
    for entry in manifest.left_out[:SHOWN]:
        console.print(Text(printable(f"left out {entry['path']}: {entry['reason']}")))
    if len(manifest.left_out) > SHOWN:
        console.print(Text(f"... and {len(manifest.left_out) - SHOWN} more (in {MANIFEST})"))
    left = f", {len(manifest.left_out)} left out" if manifest.left_out else ""
    console.print(
        Text(
            printable(
                f"wrote {counted(manifest.num_samples, 'image')} of "
                f"{counted(manifest.num_classes, 'class', 'classes')}{left} to "
                f"{counted(len(tars), 'shard')} ({size / 2**20:.1f} MiB) in {out_dir}; class "
                f"map in {Path(out_dir) / MANIFEST}"
            )
        )
    )
    return tars
