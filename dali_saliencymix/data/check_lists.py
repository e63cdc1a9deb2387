"""The lists that ``dali-saliencymix check`` writes, and reading its exclusions back.

``DATA_DIR/.dali-saliencymix-check/`` (or the check's ``--out``) holds ``files.txt`` (the clean
list in DALI's ``path label`` format), ``classes.txt`` and ``excluded.txt`` (``path<TAB>reason``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from dali_saliencymix.data.folder import CLASSES_TXT, BadFile, DatasetError, ImageFolder
from dali_saliencymix.data.names import LIST_ENCODING, LIST_ERRORS, escape_field, unescape_field
from dali_saliencymix.data.writing import atomic_path, check_writable

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
    text = path.read_text(encoding=LIST_ENCODING, errors=LIST_ERRORS)
    return [
        Path(root) / unescape_field(line.split("\t", 1)[0]) for line in text.splitlines() if line
    ]


def write_lists(folder: ImageFolder, bad: Sequence[BadFile], out: str | Path) -> dict[str, Path]:
    """Write ``files.txt`` (clean list), ``classes.txt`` and ``excluded.txt`` into `out`.

    ``files.txt`` is DALI's file-list format (``path label``, paths relative to the root);
    ``excluded.txt`` holds ``path<TAB>reason`` lines, the path escaped (:func:`escape_field`: a
    newline in a name stays on its line). Names keep their own bytes (UTF-8 or not). Each list
    is written completely under a temporary name before any is renamed into place, so an
    interrupted check leaves the former lists. Returns the paths written.
    """
    out = check_writable(out)
    left_out = {b.path for b in bad}
    texts = {
        FILES_TXT: "".join(
            f"{folder.relative(f)} {label}\n"
            for f, label in zip(folder.files, folder.labels, strict=True)
            if f not in left_out
        ),
        CLASSES_TXT: "".join(f"{name}\n" for name in folder.classes),
        EXCLUDED_TXT: "".join(
            f"{escape_field(folder.relative(b.path))}\t{' '.join(b.reason.split())}\n" for b in bad
        ),
    }
    with contextlib.ExitStack() as renames:
        for name, text in texts.items():
            temp = renames.enter_context(atomic_path(out / name))
            temp.write_text(text, encoding=LIST_ENCODING, errors=LIST_ERRORS)
    return {"files": out / FILES_TXT, "classes": out / CLASSES_TXT, "excluded": out / EXCLUDED_TXT}
