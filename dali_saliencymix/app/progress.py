"""The command line's progress bars (rich): one rate column, one bar layout."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second, e.g. ``812 files/s``."""

    def __init__(self, unit: str = "files") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        """The rate, or '?' before there is one."""
        speed = task.finished_speed or task.speed
        return Text(f"? {self.unit}/s" if speed is None else f"{speed:,.0f} {self.unit}/s")


def file_progress(console: Console, *, transient: bool = False) -> Progress:
    """A bar for work over files: done / total, files per second, elapsed time, ETA."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )
