"""The lists that ``dali-saliencymix check`` writes, and reading its exclusions back.

``DATA_DIR/.dali-saliencymix-check/`` (or the check's ``--out``) holds ``files.txt`` (the clean
list in DALI's ``path label`` format), ``classes.txt`` and ``excluded.txt`` (``path<TAB>reason``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dali_saliencymix.data.folder import CLASSES_TXT, BadFile, DatasetError, ImageFolder

# Where `dali-saliencymix check DATA_DIR` writes its lists by default (hidden: never a class).
CHECK_DIR = ".dali-saliencymix-check"
FILES_TXT = "files.txt"
EXCLUDED_TXT = "excluded.txt"


def check_dir(root: str | Path) -> Path:
    """The folder where ``dali-saliencymix check ROOT`` writes its lists by default."""
    return Path(root) / CHECK_DIR


def excluded_by_check(root: str | Path, lists: str | Path | None = None) -> list[Path]:
    """The files that ``dali-saliencymix check`` excluded (its ``excluded.txt``), as paths.

    `lists` is the folder the check wrote to (default: :func:`check_dir` of `root`).
    """
    where = Path(lists) if lists is not None else check_dir(root)
    path = where / EXCLUDED_TXT
    if not path.is_file():
        raise DatasetError(
            f"{path} does not exist: run `dali-saliencymix check {root}` first (it decodes every "
            "file and lists those that cannot be read)"
        )
    return [Path(root) / line.split("\t", 1)[0] for line in path.read_text().splitlines() if line]


def write_lists(folder: ImageFolder, bad: Sequence[BadFile], out: str | Path) -> dict[str, Path]:
    """Write ``files.txt`` (clean list), ``classes.txt`` and ``excluded.txt`` into `out`.

    ``files.txt`` is DALI's file-list format (``path label``, paths relative to the root);
    ``excluded.txt`` holds ``path<TAB>reason`` lines. Returns the paths written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    left_out = {b.path for b in bad}
    paths = {"files": out / FILES_TXT, "classes": out / CLASSES_TXT, "excluded": out / EXCLUDED_TXT}
    paths["files"].write_text(
        "".join(
            f"{folder.relative(f)} {label}\n"
            for f, label in zip(folder.files, folder.labels, strict=True)
            if f not in left_out
        )
    )
    paths["classes"].write_text("".join(f"{name}\n" for name in folder.classes))
    paths["excluded"].write_text(
        "".join(f"{folder.relative(b.path)}\t{' '.join(b.reason.split())}\n" for b in bad)
    )
    return paths
