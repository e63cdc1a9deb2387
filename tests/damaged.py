"""Real damaged image files, as found in scraped datasets."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import PHOTO_DIR

PHOTOS = sorted(PHOTO_DIR.glob("*/*.jpg"))


def good_images(folder: Path, n: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(n):
        out.append(folder / f"good{k}.jpg")
        shutil.copy(PHOTOS[(start + k) % len(PHOTOS)], out[-1])
    return out


def damaged_files(folder: Path) -> dict[str, Path]:
    """One file of each kind: name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    jpeg = PHOTOS[0].read_bytes()
    files = {
        # Cut in half: the header is intact, the scan data ends early.
        "truncated": (folder / "truncated.jpg", jpeg[: len(jpeg) // 2]),
        # The last bytes (end-of-image marker and a few rows) missing: decoding a crop window
        # in the top rows succeeds, decoding the whole image does not.
        "truncated_end": (folder / "truncated_end.jpg", jpeg[:-10]),
        # A JPEG header followed by garbage.
        "garbage": (folder / "garbage.jpg", jpeg[:20] + bytes(range(256)) * 20),
        # A TIFF signature and nothing valid after it.
        "fake_tiff": (folder / "fake.tif", b"II*\x00" + bytes(reversed(range(256))) * 8),
        "zero_bytes": (folder / "zero.jpg", b""),
        "text": (folder / "text.jpg", b"this is not an image\n"),
    }
    out = {}
    for name, (path, data) in files.items():
        path.write_bytes(data)
        out[name] = path
    out["dangling_link"] = folder / "dangling.jpg"
    os.symlink(folder / "no-such-file.jpg", out["dangling_link"])
    return out


def early_truncated_jpeg(path: Path, k: int = 0) -> Path:
    """A JPEG cut right after its header: every crop window fails to decode."""
    jpeg = PHOTOS[k % len(PHOTOS)].read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg[: jpeg.index(b"\xff\xda") + 200])  # start of scan + 200 bytes
    return path
