"""Checks of an image-folder dataset before DALI reads it, with errors that say what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
MAX_HEADER_CHECKS = 10_000


class DatasetError(ValueError):
    """The dataset folder cannot be used as it is; the message says why and what to do."""


@dataclass
class ImageFolder:
    """A folder of class sub-folders of images, as ``fn.readers.file`` reads it."""

    root: Path
    classes: list[str]
    num_files: int

    @property
    def num_classes(self) -> int:
        """Number of class sub-folders."""
        return len(self.classes)


def scan_image_folder(root: str | Path, num_classes: int | None = None) -> ImageFolder:
    """Check that `root` is a folder of class sub-folders of readable images.

    Every file's name must have an image suffix; the leading bytes of every file (of the first
    10,000 when there are more) must be those of an image format DALI decodes. With
    `num_classes`, it must be at least the number of class folders found.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder: expected a folder of class sub-folders")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = [p.name for p in root.iterdir() if p.is_file() and not p.name.startswith(".")]
    if not classes:
        hint = f" (it holds {len(loose)} loose files)" if loose else " (it is empty)"
        raise DatasetError(
            f"{root} has no class sub-folders{hint}: expected ROOT/<class>/<image> files, e.g. "
            f"{root}/cat/001.jpg, {root}/dog/002.jpg"
        )
    files: list[Path] = []
    for name in classes:
        files += sorted(
            p for p in (root / name).rglob("*") if p.is_file() and not p.name.startswith(".")
        )
    if not files:
        raise DatasetError(f"{root}: the class folders {classes[:5]} hold no files")
    not_images = [f for f in files if f.suffix.lower() not in IMAGE_SUFFIXES]
    if not_images:
        shown = ", ".join(str(f.relative_to(root)) for f in not_images[:5])
        raise DatasetError(
            f"{root}: {len(not_images)} files are not images (by name): {shown}; "
            "move them out of the class folders"
        )
    bad = [f for f in files[:MAX_HEADER_CHECKS] if not _looks_like_image(f)]
    if bad:
        shown = ", ".join(str(f.relative_to(root)) for f in bad[:5])
        raise DatasetError(
            f"{root}: {len(bad)} files are unreadable or not images (by content): {shown}"
        )
    if num_classes is not None and num_classes < len(classes):
        raise DatasetError(
            f"{root} has {len(classes)} class folders but num_classes is "
            f"{num_classes}: labels would fall outside [0, num_classes); use "
            f"--num-classes {len(classes)} or more"
        )
    return ImageFolder(root, classes, len(files))


def _looks_like_image(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return any(head.startswith(m) for m in _MAGIC)
