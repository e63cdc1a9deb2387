"""The ``check`` command: decode every file of a dataset, show and list what cannot be used."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dali_saliencymix._text import counted
from dali_saliencymix.app.progress import file_progress
from dali_saliencymix.data.check_lists import hidden_folders, old_check_dir
from dali_saliencymix.data.decode_check import CheckReport, check_dataset
from dali_saliencymix.data.folder import ImageFolder
from dali_saliencymix.data.names import printable
from dali_saliencymix.data.writing import WriteError

# Rows of the excluded-files table printed; the rest are in the excluded list.
SHOWN = 50
# The exit codes of `check` (its --help says them).
CLEAN, EXCLUDED, NOT_FINISHED = 0, 1, 2
EXIT_CODES = (
    "Exit status: 0 when every file decodes; 1 when files were excluded (listed in "
    "excluded.txt, the clean list written); 2 when the check could not finish (no lists "
    "written: a missing folder, no class folders, lists that cannot be written)."
)


class CheckError(RuntimeError):
    """The check could not finish (exit code 2); the message names the folder or the flag."""


def check_command(
    root: str | Path,
    console: Console,
    *,
    out: str | Path | None = None,
    num_threads: int | None = None,
    batch_size: int | None = None,
) -> int:
    """Run the check with a progress bar; print the excluded files and the lists written.

    Returns 0 when every file decodes, 1 when some were excluded (see :data:`EXIT_CODES`).

    Raises:
        CheckError: the lists cannot be written (the message says to give ``--out``).

    """
    with file_progress(console) as bar:
        task = bar.add_task("scanning", total=None)

        def scanned(folder: ImageFolder) -> None:
            bar.update(task, description="decoding", total=folder.num_files)

        try:
            report = check_dataset(
                root,
                out=out,
                num_threads=num_threads,
                batch_size=batch_size,
                progress=lambda k: bar.advance(task, k),
                on_scanned=scanned,
            )
        except WriteError as err:
            raise CheckError(
                f"cannot write the lists into {err.path} ({err.reason}); give --out DIR, a "
                "folder you can write (then train with --file-list DIR/files.txt)"
            ) from None
    _print_report(report, root, console)
    return EXCLUDED if report.bad else CLEAN


def _print_report(report: CheckReport, root: str | Path, console: Console) -> None:
    def say(text: str) -> None:
        console.print(Text(printable(text)))

    folder = report.folder
    refused = len(folder.rejected)
    scan = f" ({folder.num_files} sent to the decoder, {refused} refused by the scan)"
    say(
        f"checked {counted(report.num_checked, 'file')} of "
        f"{counted(folder.num_classes, 'class', 'classes')}{scan if refused else ''} in "
        f"{report.seconds:.1f} s ({report.files_per_second:.0f} files/s, "
        f"{report.num_threads} decoding threads): {len(report.bad)} cannot be used"
    )
    if report.bad:
        table = Table("file", "reason", title="excluded", show_lines=False)
        for b in report.bad[:SHOWN]:
            table.add_row(Text(printable(folder.relative(b.path))), Text(printable(b.reason)))
        console.print(table)
        if len(report.bad) > SHOWN:
            say(f"... and {len(report.bad) - SHOWN} more in the excluded list")
    lists = report.lists
    listed = set(folder.files)
    decode_bad = sum(1 for b in report.bad if b.path in listed)
    say(
        f"clean file list: {lists['files']} ({folder.num_files - decode_bad} files); class "
        f"names: {lists['classes']}; excluded: {lists['excluded']}"
    )
    if report.bad:
        say(
            f"train without them: dali-saliencymix train {root} --skip-bad (or --file-list "
            f"{lists['files']}; file_list= in the factories)"
        )
    old = old_check_dir(root)
    if old is not None and old.resolve() != lists["files"].parent.resolve():
        say(
            f"note: {old} holds lists from a version before 0.2.0; remove it: DALI's "
            "fn.readers.file counts it as a class and shifts every class id by one"
        )
    others = [p for p in hidden_folders(root) if p != old]
    if others:
        names = ", ".join(p.name for p in others)
        say(
            f"note: hidden folders in {root} ({names}) are skipped here, but a plain DALI "
            "fn.readers.file(file_root=...) counts each as a class and shifts the class ids; "
            "move them out, or read the clean list (file_list=)"
        )
