"""The ``check`` command: decode every file of a dataset, show and list what cannot be used."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dali_saliencymix.app.progress import file_progress
from dali_saliencymix.data.decode_check import CheckReport, check_dataset
from dali_saliencymix.data.folder import ImageFolder

# Rows of the excluded-files table printed; the rest are in the excluded list.
SHOWN = 50


def check_command(
    root: str | Path,
    console: Console,
    *,
    out: str | Path | None = None,
    num_threads: int | None = None,
    batch_size: int | None = None,
) -> int:
    """Run the check with a progress bar; print the excluded files and the lists written.

    Returns 0 when every file decodes, 1 when some were excluded.
    """
    with file_progress(console) as bar:
        task = bar.add_task("scanning", total=None)

        def scanned(folder: ImageFolder) -> None:
            bar.update(task, description="decoding", total=folder.num_files)

        report = check_dataset(
            root,
            out=out,
            num_threads=num_threads,
            batch_size=batch_size,
            progress=lambda k: bar.advance(task, k),
            on_scanned=scanned,
        )
    _print_report(report, root, console)
    return 1 if report.bad else 0


def _print_report(report: CheckReport, root: str | Path, console: Console) -> None:
    folder = report.folder
    console.print(
        Text(
            f"checked {report.num_checked} files of {folder.num_classes} classes in "
            f"{report.seconds:.1f} s ({report.files_per_second:.0f} files/s, "
            f"{report.num_threads} decoding threads): {len(report.bad)} cannot be used"
        )
    )
    if report.bad:
        table = Table("file", "reason", title="excluded", show_lines=False)
        for b in report.bad[:SHOWN]:
            table.add_row(Text(folder.relative(b.path)), Text(b.reason))
        console.print(table)
        if len(report.bad) > SHOWN:
            console.print(Text(f"... and {len(report.bad) - SHOWN} more in the excluded list"))
    lists = report.lists
    listed = set(folder.files)
    decode_bad = sum(1 for b in report.bad if b.path in listed)
    console.print(
        Text(
            f"clean file list: {lists['files']} ({folder.num_files - decode_bad} files); class "
            f"names: {lists['classes']}; excluded: {lists['excluded']}"
        )
    )
    if report.bad:
        console.print(
            Text(
                "train without them: python pipelines/train_imagenet.py "
                f"{root} --skip-bad (or --file-list {lists['files']})"
            )
        )
