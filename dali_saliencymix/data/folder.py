"""The class map and file list of an image dataset, defined once; errors say what to fix.

Every pipeline of this package reads exactly the files that :func:`scan_image_folder` (a folder
of class sub-folders) or :func:`read_file_list` (a ``path label`` list) returns, with their class
ids: the factories hand that list to ``fn.readers.file``, so the classes and files checked here
are the ones trained on (:mod:`.load` picks between a folder, a list and WebDataset shards).
The rules, applied here and nowhere else:

- **Classes** are the sub-folders of the root, sorted by name; class id = position. A symbolic
  link to a folder counts as a class folder. Loose files in the root are not read.
- **Hidden** names (starting with ``.``, e.g. ``.ipynb_checkpoints``, ``.DS_Store``) are ignored
  at every level: they are neither classes nor images, and do not shift the class ids.
- **Nested folders** inside a class folder belong to that class: their images are read, at any
  depth (as torchvision's ``ImageFolder``); symbolic links to folders are followed, once.
- **Files** in class folders must be images by name (:data:`IMAGE_SUFFIXES`); symbolic links to
  images are read. Broken links, non-image names and files whose first bytes are no image format
  are reported (see ``strict``); ``dali-saliencymix check`` decodes every file.
- **Validation** folders take the training folder's class map (``classes=``): a class missing from
  validation keeps the other ids; a validation class that training lacks is an error.

This module does not import DALI.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from errno import ELOOP
from pathlib import Path

from dali_saliencymix._text import counted
from dali_saliencymix.data.names import LIST_ENCODING, LIST_ERRORS

IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".tif",
    ".tiff",
    ".webp",
    ".jp2",
    ".pnm",
    ".ppm",
    ".pgm",
    ".pbm",
}
# Leading bytes of the formats DALI's image decoder reads.
_MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"RIFF",
    b"\x00\x00\x00\x0cjP  ",
    b"\xff\x4f\xff\x51",
    b"P1",
    b"P2",
    b"P3",
    b"P4",
    b"P5",
    b"P6",
)
# The scan reads the first bytes of at most this many files (spread over the dataset).
MAX_HEADER_CHECKS = 10_000
# The class names beside a file list (one per line, in id order), as `check` writes them.
CLASSES_TXT = "classes.txt"


class DatasetError(ValueError):
    """The dataset cannot be used as it is; the message says why and what to do."""


@dataclass(frozen=True)
class BadFile:
    """A file that cannot be trained on, and why."""

    path: Path
    reason: str


@dataclass
class ImageFolder:
    """The files a pipeline reads, their class ids, and the class map.

    Attributes:
        root: the dataset folder (paths in lists are written relative to it).
        classes: class names in id order (the class map).
        files: the image files, in reading order (absolute or relative to the working folder).
        labels: the class id of each file.
        rejected: files of the class folders that are not read, with the reason (broken links,
            non-image names or contents); with ``strict`` scans this is empty.
        excluded: files left out because a check listed them (``exclude=``).

    """

    root: Path
    classes: list[str]
    files: list[Path] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    rejected: list[BadFile] = field(default_factory=list)
    excluded: list[Path] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"ImageFolder(root={str(self.root)!r}, classes={len(self.classes)}, "
            f"files={len(self.files)}, rejected={len(self.rejected)}, "
            f"excluded={len(self.excluded)})"
        )

    @property
    def num_classes(self) -> int:
        """Number of classes in the class map."""
        return len(self.classes)

    @property
    def num_files(self) -> int:
        """Number of files read."""
        return len(self.files)

    def relative(self, path: Path) -> str:
        """`path` relative to the root when it lies inside it, else the path as given."""
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def is_hidden(name: str) -> bool:
    """Whether a file or folder name is hidden (ignored by every scan of this package)."""
    return name.startswith(".")


def scan_image_folder(
    root: str | Path,
    num_classes: int | None = None,
    *,
    classes: Sequence[str] | None = None,
    exclude: Iterable[str | Path] = (),
    strict: bool = True,
) -> ImageFolder:
    """The files and class ids of a folder of class sub-folders (rules: module docstring).

    Args:
        root: the dataset folder, ``ROOT/<class>/<image>``.
        num_classes: when given, must be at least the number of classes.
        classes: the class map to use (the training folder's, for a validation folder): each
            class folder must be one of these names, and gets its id.
        exclude: files to leave out (absolute, or relative to `root`), e.g. those that
            ``dali-saliencymix check`` listed (``check_lists.excluded_by_check``).
        strict: raise DatasetError when a file of a class folder is a broken link, not an
            image by name, or not an image by its first bytes (first 10,000 files, spread);
            otherwise return them in ``rejected``.

    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder: expected a folder of class sub-folders")
    with os.scandir(root) as entries:
        entries = [e for e in entries if not is_hidden(e.name)]
    found = sorted(e.name for e in entries if _is_dir(e))
    if not found:
        loose = sum(1 for e in entries if not _is_dir(e))
        hint = f" (it holds {loose} loose files)" if loose else " (it is empty)"
        raise DatasetError(
            f"{root} has no class sub-folders{hint}: expected ROOT/<class>/<image> files, e.g. "
            f"{root}/cat/001.jpg, {root}/dog/002.jpg"
        )
    _check_names(root, found)
    class_map = list(classes) if classes is not None else found
    ids = {name: i for i, name in enumerate(class_map)}
    unknown = [name for name in found if name not in ids]
    if unknown and class_map == [str(i) for i in range(len(class_map))]:
        raise DatasetError(
            f"{root}: the training classes have no names, only ids 0..{len(class_map) - 1} (a "
            f"file list without {CLASSES_TXT} beside it), so the class folders {found[:3]} have "
            f"no ids: put the class names in id order in {CLASSES_TXT} beside that list"
        )
    if unknown:
        raise DatasetError(
            f"{root} has class folders that the training classes lack: {unknown[:5]}"
            f"{' ...' if len(unknown) > 5 else ''} ({len(unknown)} of {len(found)}); class ids "
            "come from the training folder, so every validation class must be a training class "
            "(same folder name): rename or remove them"
        )
    folder = ImageFolder(root, class_map)
    skip = {_normal(root, p) for p in exclude}
    for name in found:
        files, rejected = _class_files(root / name)
        for path in files:
            if skip and _normal(root, path) in skip:
                folder.excluded.append(path)
            else:
                folder.files.append(path)
                folder.labels.append(ids[name])
        folder.rejected += [b for b in rejected if _normal(root, b.path) not in skip]
    if not folder.files and not folder.rejected and not folder.excluded:
        raise DatasetError(f"{root}: the class folders {found[:5]} hold no files")
    _check_headers(folder)
    if strict and folder.rejected:
        raise DatasetError(_rejected_message(folder))
    if not folder.files:
        raise DatasetError(f"{root}: no readable image files are left in {found[:5]}")
    check_num_classes(folder, num_classes, "class folders")
    return folder


def read_file_list(
    path: str | Path,
    root: str | Path | None = None,
    *,
    num_classes: int | None = None,
    classes: Sequence[str] | None = None,
    exclude: Iterable[str | Path] = (),
) -> ImageFolder:
    """The files and class ids of a file list (DALI's format: ``path label`` lines).

    Paths are relative to `root` when given (as ``fn.readers.file(file_root=...)`` reads
    them), else to the working folder; a path may hold spaces (the label is the last field).
    Class names come from ``classes.txt`` beside the list (one name per line, written by
    ``dali-saliencymix check``), else from `classes`, else they are the ids as text. With both,
    they must agree.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"file list {path} does not exist")
    base = Path(root) if root is not None else Path()
    skip = {_normal(base, p) for p in exclude}
    folder = ImageFolder(base, [])
    text = path.read_text(encoding=LIST_ENCODING, errors=LIST_ERRORS)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rstrip().rsplit(maxsplit=1)
        if len(parts) != 2 or not parts[1].isdigit():
            raise DatasetError(
                f"{path}, line {number}: expected 'path label' (a class id >= 0), got {line!r}"
            )
        file = base / parts[0].strip()
        if skip and _normal(base, file) in skip:
            folder.excluded.append(file)
            continue
        folder.files.append(file)
        folder.labels.append(int(parts[1]))
    if not folder.files:
        raise DatasetError(f"file list {path} lists no files")
    names_file = path.parent / CLASSES_TXT
    names = None
    if names_file.is_file():
        names = names_file.read_text(encoding=LIST_ENCODING, errors=LIST_ERRORS).splitlines()
    if names is not None and classes is not None and list(classes) != names:
        raise DatasetError(
            f"{names_file} does not match the training classes ({len(names)} vs "
            f"{len(classes)} names): use lists written from folders with the same class folders"
        )
    names = names or (list(classes) if classes is not None else None)
    top = max(folder.labels)
    if names is None:
        names = [str(i) for i in range(top + 1)]
    elif top >= len(names):
        raise DatasetError(
            f"{path}: class id {top} has no name ({len(names)} classes); the list and the class "
            "names do not belong together"
        )
    folder.classes = names
    check_num_classes(folder, num_classes, "classes")
    return folder


def _class_files(class_dir: Path) -> tuple[list[Path], list[BadFile]]:
    """All non-hidden files under a class folder (nested folders and links followed, once)."""
    files: list[Path] = []
    rejected: list[BadFile] = []
    seen: set[str] = set()
    stack = [class_dir]
    while stack:
        folder = stack.pop()
        real = os.path.realpath(folder)
        if real in seen:
            continue  # a link back to a folder already read
        seen.add(real)
        try:
            with os.scandir(folder) as it:
                entries = [e for e in it if not is_hidden(e.name)]
        except OSError as err:
            rejected.append(BadFile(folder, f"cannot list this folder: {err.strerror}"))
            continue
        for entry in entries:
            path = Path(entry.path)
            kind, reason = _entry_kind(entry)
            if kind == "dir":
                stack.append(path)
            elif kind == "file":
                files.append(path)
            else:
                rejected.append(BadFile(path, reason))
    files.sort(key=lambda p: p.relative_to(class_dir).as_posix())
    rejected.sort(key=lambda b: str(b.path))
    return files, rejected


def _is_dir(entry: os.DirEntry) -> bool:
    """Whether an entry is a folder (or a link to one); a link loop is not."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _entry_kind(entry: os.DirEntry) -> tuple[str, str]:
    """("dir" | "file" | "bad", reason) of an entry of a class folder."""
    try:
        if entry.is_dir():
            return "dir", ""
        if entry.is_file():
            reason = _name_problem(entry.name)
            return ("bad", reason) if reason else ("file", "")
        if entry.is_symlink():
            return "bad", f"broken symbolic link (to {os.readlink(entry.path)}, which is gone)"
    except OSError as err:
        what = " (a symbolic link to itself, or a loop of links)" if err.errno == ELOOP else ""
        return "bad", f"cannot be read: {err.strerror}{what}"
    return "bad", "not a regular file"


def _name_problem(name: str) -> str | None:
    if "\n" in name or "\r" in name:
        return "the name holds a line break (a file list cannot hold it): rename it"
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in IMAGE_SUFFIXES:
        return f"not an image by name (suffix {suffix or 'none'!r}): move it out of its folder"
    return None


def _check_names(root: Path, names: Sequence[str]) -> None:
    bad = [n for n in names if "\n" in n or "\r" in n]
    if bad:
        raise DatasetError(f"{root}: class folder names hold line breaks: {bad[:3]}; rename them")


def _check_headers(folder: ImageFolder) -> None:
    """Move files whose first bytes are no image format (or that cannot be read) to rejected."""
    n = len(folder.files)
    if not n:
        return
    step = max(1, n // MAX_HEADER_CHECKS)
    bad: dict[int, str] = {}
    for i in range(0, n, step):
        reason = _header_problem(folder.files[i])
        if reason:
            bad[i] = reason
    if not bad:
        return
    folder.rejected += [BadFile(folder.files[i], reason) for i, reason in bad.items()]
    folder.files = [f for i, f in enumerate(folder.files) if i not in bad]
    folder.labels = [c for i, c in enumerate(folder.labels) if i not in bad]


def _header_problem(path: Path) -> str | None:
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError as err:
        return f"cannot read: {err.strerror}"
    if not head:
        return "empty file (0 bytes)"
    if not any(head.startswith(m) for m in _MAGIC):
        return "not an image by content (its first bytes are no image format DALI decodes)"
    return None


def _rejected_message(folder: ImageFolder) -> str:
    shown = "; ".join(f"{folder.relative(b.path)}: {b.reason}" for b in folder.rejected[:5])
    more = f" (and {len(folder.rejected) - 5} more)" if len(folder.rejected) > 5 else ""
    by_content = any("by content" in b.reason for b in folder.rejected)
    by_name = any("by name" in b.reason for b in folder.rejected)
    what = "unreadable or not images (by content)" if by_content else "unreadable"
    if by_name:
        what = "not images (by name)" + (f" or {what}" if by_content else "")
    return (
        f"{folder.root}: {counted(len(folder.rejected), 'file')} "
        f"{'is' if len(folder.rejected) == 1 else 'are'} {what}: {shown}{more}. Move them out, "
        f"or run `dali-saliencymix check {folder.root}` and train with --skip-bad"
    )


def check_num_classes(folder: ImageFolder, num_classes: int | None, noun: str) -> None:
    """Raise DatasetError when `num_classes` is below the classes of `folder`."""
    if num_classes is not None and num_classes < folder.num_classes:
        raise DatasetError(
            f"{folder.root} has {folder.num_classes} {noun} but num_classes is "
            f"{num_classes}: labels would fall outside [0, num_classes); use "
            f"--num-classes {folder.num_classes} or more"
        )


def _normal(root: Path, path: str | Path) -> str:
    path = Path(path)
    return os.path.normpath(path if path.is_absolute() else root / path)
