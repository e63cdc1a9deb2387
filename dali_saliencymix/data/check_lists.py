"""The lists that ``dali-saliencymix check`` writes, and reading its exclusions back.

``DATA_DIR.dali-saliencymix-check/`` beside the data folder (or the check's ``--out``) holds
``files.txt`` (the clean list in DALI's ``path label`` format), ``classes.txt`` and
``excluded.txt`` (``path<TAB>reason``). Beside, not inside: DALI's ``fn.readers.file`` counts
every sub-folder of its root as a class, hidden ones included, so a folder of lists inside the
data would shift every class id of a plain DALI reader by one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from dali_saliencymix.data.folder import (
    CLASSES_TXT,
    BadFile,
    DatasetError,
    ImageFolder,
    is_hidden,
)
from dali_saliencymix.data.names import LIST_ENCODING, LIST_ERRORS, escape_field, unescape_field
from dali_saliencymix.data.writing import atomic_path, check_writable

# `dali-saliencymix check DATA_DIR` writes its lists by default into DATA_DIR + this suffix,
# beside the data folder; versions before 0.2.0 wrote into DATA_DIR/.dali-saliencymix-check.
CHECK_SUFFIX = ".dali-saliencymix-check"
FILES_TXT = "files.txt"
EXCLUDED_TXT = "excluded.txt"


def check_dir(root: str | Path) -> Path:
    """The folder where ``dali-saliencymix check ROOT`` writes its lists by default.

    Beside ROOT, named after it: ``/data/train`` -> ``/data/train.dali-saliencymix-check``.
    """
    absolute = Path(os.path.abspath(root))
    if not absolute.name:  # inside, a plain DALI reader would count the lists as a class
        raise DatasetError(
            f"{root}: a data folder at the filesystem root has no folder beside it for the "
            "check's lists: give --out DIR (out= in Python)"
        )
    return absolute.with_name(absolute.name + CHECK_SUFFIX)


def old_check_dir(root: str | Path) -> Path | None:
    """The lists folder that versions before 0.2.0 wrote inside ROOT, if it is there.

    A plain ``fn.readers.file(file_root=ROOT)`` counts it as class 0 and shifts every other one.
    """
    old = Path(root) / CHECK_SUFFIX
    return old if old.is_dir() else None


def hidden_folders(root: str | Path) -> list[Path]:
    """The hidden sub-folders of `root` (``.ipynb_checkpoints``, ...), by name.

    This package's scans skip them, but DALI's ``fn.readers.file(file_root=root)`` counts every
    sub-folder as a class: each hidden one before the first class shifts every class id.
    """
    try:
        with os.scandir(root) as it:
            found = [Path(e.path) for e in it if is_hidden(e.name) and e.is_dir()]
    except OSError:
        return []
    return sorted(found)


def excluded_by_check(root: str | Path, lists: str | Path | None = None) -> list[Path]:
    """The files that ``dali-saliencymix check`` excluded (its ``excluded.txt``), as paths.

    `lists` is the folder the check wrote to (default: :func:`check_dir` of `root`).
    """
    where = Path(lists) if lists is not None else check_dir(root)
    path = where / EXCLUDED_TXT
    if not path.is_file():
        earlier = old_check_dir(root) if lists is None else None
        again = (
            f" (the lists in {earlier} are from a version before 0.2.0, which wrote them inside "
            "the data folder: run the check again, then remove that folder)"
            if earlier is not None
            else ""
        )
        raise DatasetError(
            f"{path} does not exist: run `dali-saliencymix check {root}` first (it decodes every "
            "file and lists those that cannot be read; if it wrote elsewhere with --out DIR, "
            f"train on its clean list: --file-list DIR/files.txt){again}"
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
