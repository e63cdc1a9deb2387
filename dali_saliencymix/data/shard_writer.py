"""Writing WebDataset tar shards from a class folder (the ``shards`` command's library side).

Each sample is a pair of tar members sharing a basename: the image file's bytes, unchanged, under
the image key (``jpg`` for JPEG files, the lower-case suffix for other formats) and the class id
as ASCII decimal under ``cls``, as WebDataset writes it; each tar gets DALI's index and the
folder a ``manifest.json`` (:mod:`.shards` reads and checks them).

Nothing is half-written: one writer holds ``OUT_DIR/.writing.lock``; the tars are ``.part``
files until all are complete; the manifest is written last, through a temporary file; an error
or Ctrl-C removes what was written, and what a kill leaves (the lock, ``.part`` files) is
refused when read. The ``shards`` command decodes every image before it packs it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import tarfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from dali_saliencymix._text import counted
from dali_saliencymix.data.decode_check import decode_failures
from dali_saliencymix.data.folder import BadFile, ImageFolder, scan_image_folder
from dali_saliencymix.data.shards import (
    DEFAULT_KEYS,
    DEFAULT_PATTERN,
    INDEX_VERSION,
    JPEG_SUFFIXES,
    MANIFEST,
    PART_SUFFIX,
    WRITING_LOCK,
    ShardError,
    ShardManifest,
)
from dali_saliencymix.data.writing import LockedError, exclusive_lock, write_text_atomic


def folder_samples(
    root: str | Path, classes: Sequence[str] | None = None
) -> tuple[list[str], list[tuple[Path, int]]]:
    """Class names and ``(path, class id)`` of a class folder, as the package's scan reads it.

    The files and ids are those of ``scan_image_folder`` (hidden names ignored, nested folders
    in their class, the same order as the folder reader); `classes` is the class map to use
    (the training folder's, for a validation folder).
    """
    folder = scan_image_folder(root, classes=classes)
    return folder.classes, list(zip(folder.files, folder.labels, strict=True))


def write_shards(
    files: Sequence[tuple[Path, int]],
    out_dir: str | Path,
    *,
    shard_size: int,
    class_names: Sequence[str],
    pattern: str = DEFAULT_PATTERN,
    keys: tuple[str, str] = DEFAULT_KEYS,
    shuffle_seed: int | None = 0,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write ``(image path, class id)`` samples as WebDataset tars, with indices and a manifest.

    The images are stored as they are (:func:`write_folder_shards`, the ``shards`` command,
    decodes them first). The folder is complete or refused when read: see :func:`_shard_folder`.

    Args:
        files: the samples; class ids index `class_names`.
        out_dir: folder for the shards (created; must not already hold shards).
        shard_size: samples per tar (the last one holds the rest).
        class_names: class names in id order (recorded in the manifest).
        pattern: tar file names, formatted with the shard number.
        keys: image key (for JPEG files; other formats keep their lower-case suffix) and label
            key.
        shuffle_seed: the samples are written in an order shuffled with this seed, as DALI's
            webdataset reader shuffles only within a buffer of ``initial_fill`` samples and a
            class-sorted order would give one-class batches; None keeps the order of `files`.
        progress: called with the number of samples written since the last call.

    Returns:
        The tar paths, in order. Each ``x.tar`` has an index ``x.idx`` and the folder a
        ``manifest.json``.

    Raises:
        ShardError: bad arguments, a folder that holds shards, or another writer (lock).

    """
    _check_write_args(files, shard_size, class_names, pattern, *keys)
    with _shard_folder(out_dir) as target:
        return _write_all(
            files,
            target,
            shard_size=shard_size,
            class_names=class_names,
            pattern=pattern,
            keys=keys,
            shuffle_seed=shuffle_seed,
            progress=progress,
        )


def write_folder_shards(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    shard_size: int,
    classes: Sequence[str] | None = None,
    pattern: str = DEFAULT_PATTERN,
    shuffle_seed: int | None = 0,
    skip_bad: bool = False,
    num_threads: int | None = None,
    on_phase: Callable[[str, int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write the files of a class folder (as the package scans it) as WebDataset shards.

    Every file is decoded first with DALI's CPU decoder (``decode_failures``, as ``check``
    does); files that cannot be used (unreadable, not images, damaged) stop the writing, named,
    before any shard is written, or with `skip_bad` are left out and listed in the manifest
    (``left_out``). `classes`: the class map to write the ids in (the training data's, for a
    validation folder). `on_phase` is called with ``("decoding", files)`` and ``("writing
    shards", samples)``; `progress` with the files done since its last call. The output folder
    must not lie inside the dataset (the shards would become its files).
    """
    source, target = Path(data_dir).resolve(), Path(out_dir).resolve()
    if target == source or source in target.parents:
        raise ShardError(
            f"{out_dir} lies inside {data_dir}: the shards would become files of the dataset; "
            "write them to a folder outside it"
        )
    with _shard_folder(out_dir) as target:
        folder = scan_image_folder(data_dir, classes=classes, strict=False)
        if on_phase is not None:
            on_phase("decoding", folder.num_files)
        failures = decode_failures(folder.files, num_threads=num_threads, progress=progress)
        bad = sorted(folder.rejected + failures, key=lambda b: str(b.path))
        if bad and not skip_bad:
            raise ShardError(_bad_files_message(folder, bad))
        left = {b.path for b in bad}
        samples = [
            (f, c) for f, c in zip(folder.files, folder.labels, strict=True) if f not in left
        ]
        if not samples:
            raise ShardError(f"{data_dir}: none of its {len(bad)} files can be used")
        _check_write_args(samples, shard_size, folder.classes, pattern, *DEFAULT_KEYS)
        if on_phase is not None:
            on_phase("writing shards", len(samples))
        return _write_all(
            samples,
            target,
            shard_size=shard_size,
            class_names=folder.classes,
            pattern=pattern,
            keys=DEFAULT_KEYS,
            shuffle_seed=shuffle_seed,
            progress=progress,
            left_out=[{"path": folder.relative(b.path), "reason": b.reason} for b in bad],
        )


@contextlib.contextmanager
def _shard_folder(out_dir: str | Path) -> Iterator[tuple[Path, list[Path]]]:
    """The output folder, locked, empty of shards: yields ``(folder, files written)``.

    The writer appends each file it creates to the list. ``OUT_DIR/.writing.lock`` is created
    exclusively (a second writer is refused; a lock left by a killed writer is reported with
    what to do), the shards are ``.part`` files until all are complete, the manifest is written
    last; on an error or Ctrl-C the files written are removed (and the folder, when this call
    made it). A kill leaves the lock and ``.part`` files, which readers refuse as an
    interrupted write.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ShardError(f"{out} is not a folder: give a folder for the shards")
    made = not out.exists()
    hint = f"the folder holds part of the data: remove it and write the shards again (rm -r {out})"
    finished = False
    try:
        with contextlib.ExitStack() as stack:
            try:
                out.mkdir(parents=True, exist_ok=True)
                lock = exclusive_lock(out / WRITING_LOCK, f"the shards in {out}", hint)
                stack.enter_context(lock)
            except LockedError as err:
                raise ShardError(str(err)) from None
            except OSError as err:
                raise ShardError(f"cannot write into {out}: {err.strerror or err}") from None
            held = [p.name for p in out.iterdir() if _shard_file(p.name)]
            if held:
                raise ShardError(
                    f"{out} already holds shards ({', '.join(sorted(held)[:3])}...): give an "
                    "empty or new folder"
                )
            written: list[Path] = []
            try:
                yield out, written
            except BaseException:
                for path in reversed(written):
                    path.unlink(missing_ok=True)
                raise
            finished = True
    finally:
        if made and not finished:
            with contextlib.suppress(OSError):
                out.rmdir()  # only when empty


def _shard_file(name: str) -> bool:
    """Whether a file name is one that a shard writer makes (or made and left)."""
    return name == MANIFEST or name.endswith((".tar", ".idx", PART_SUFFIX))


def _write_all(
    files: Sequence[tuple[Path, int]],
    folder: tuple[Path, list[Path]],
    *,
    shard_size: int,
    class_names: Sequence[str],
    pattern: str,
    keys: tuple[str, str],
    shuffle_seed: int | None,
    progress: Callable[[int], None] | None,
    left_out: list[dict[str, str]] | None = None,
) -> list[Path]:
    """Write the tars (as ``.part``, renamed once all are complete), then the manifest."""
    out, written = folder
    order = list(range(len(files)))
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
    digits = max(9, len(str(len(files) - 1)))
    tars: list[Path] = []
    records: list[dict[str, Any]] = []
    image_exts: set[str] = set()
    for number, start in enumerate(range(0, len(order), shard_size)):
        chunk = order[start : start + shard_size]
        samples = [(f"{k:0{digits}d}", Path(files[k][0]), int(files[k][1])) for k in chunk]
        tar_path = out / pattern.format(number)
        image_exts |= _write_tar(tar_path, samples, keys, progress, written)
        tars.append(tar_path)
        records.append(
            {"tar": tar_path.name, "index": _index_name(tar_path), "num_samples": len(chunk)}
        )
    for tar_path in tars:
        _part(tar_path).replace(tar_path)
        written.append(tar_path)
    manifest = ShardManifest(
        classes=list(class_names),
        num_samples=len(files),
        image_key=keys[0],
        label_key=keys[1],
        image_exts=sorted(image_exts, key=lambda e: (e != keys[0], e)),
        shards=records,
        shuffle_seed=shuffle_seed,
        left_out=list(left_out or []),
    )
    written.append(out / MANIFEST)
    write_text_atomic(out / MANIFEST, json.dumps(manifest.to_json(), indent=1) + "\n")
    return tars


def _part(tar_path: Path) -> Path:
    return tar_path.with_name(tar_path.name + PART_SUFFIX)


def _bad_files_message(folder: ImageFolder, bad: Sequence[BadFile]) -> str:
    shown = "; ".join(f"{folder.relative(b.path)}: {b.reason}" for b in bad[:5])
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    return (
        f"{folder.root}: {counted(len(bad), 'file')} cannot be used: {shown}{more}. Nothing "
        "was written: "
        "move them out, or leave them out with --skip-bad (skip_bad=True; they are listed in "
        "the manifest)"
    )


def _index_name(tar_path: Path) -> str:
    return tar_path.with_suffix(".idx").name


def _write_tar(
    tar_path: Path,
    samples: Sequence[tuple[str, Path, int]],
    keys: tuple[str, str],
    progress: Callable[[int], None] | None,
    written: list[Path],
) -> set[str]:
    """Write one tar of ``(basename, image path, class id)`` samples and its DALI index.

    The tar is written as ``x.tar.part`` (the caller renames it); each file made is appended to
    `written`. Returns the image keys used.
    """
    image_key, label_key = keys
    lines = []
    exts: set[str] = set()
    partial = _part(tar_path)
    written.append(partial)
    with tarfile.open(partial, "w", format=tarfile.USTAR_FORMAT) as tar:
        for basename, path, label in samples:
            ext = image_key if path.suffix.lower() in JPEG_SUFFIXES else _suffix_key(path)
            exts.add(ext)
            try:
                f = path.open("rb")
            except OSError as e:
                raise ShardError(f"cannot read image {path}: {e.strerror}") from e
            with f:
                size = os.fstat(f.fileno()).st_size
                image = _add_member(tar, f"{basename}.{ext}", f, size)
            text = str(label).encode("ascii")
            label_member = _add_member(tar, f"{basename}.{label_key}", text, len(text))
            lines.append(" ".join(" ".join(map(str, c)) for c in (image, label_member)))
            if progress is not None:
                progress(1)
    index = tar_path.with_suffix(".idx")
    written.append(index)
    index.write_text(f"{INDEX_VERSION} {len(lines)}\n" + "\n".join(lines) + "\n")
    return exts


def _check_write_args(
    files: Sequence[tuple[Path, int]],
    shard_size: int,
    class_names: Sequence[str],
    pattern: str,
    image_key: str,
    label_key: str,
) -> None:
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise ShardError(f"shard_size must be an integer >= 1, got {shard_size!r}")
    if not files:
        raise ShardError("no samples to write")
    if not class_names:
        raise ShardError("class_names is empty: give the class names in id order")
    for key in (image_key, label_key):
        if not key or "." in key or ";" in key or "/" in key or " " in key:
            raise ShardError(f"key {key!r} must be a non-empty name without '.', ';', '/', ' '")
    if image_key == label_key:
        raise ShardError(f"the image and label keys must differ, both are {image_key!r}")
    try:
        names = {pattern.format(0), pattern.format(1)}
    except (IndexError, KeyError, ValueError) as e:
        raise ShardError(
            f"pattern {pattern!r} must take one number, e.g. 'shard-{{:06d}}.tar'"
        ) from e
    if len(names) != 2 or not pattern.format(0).endswith(".tar") or "/" in pattern:
        raise ShardError(
            f"pattern {pattern!r} must give distinct '.tar' names, e.g. 'shard-{{:06d}}.tar'"
        )
    bad = [(str(p), c) for p, c in files if not 0 <= int(c) < len(class_names)]
    if bad:
        raise ShardError(
            f"{len(bad)} samples have class ids outside [0, {len(class_names)}): {bad[:3]}"
        )


def _suffix_key(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if not suffix or any(c in suffix for c in ".; /"):
        raise ShardError(f"{path}: cannot store a file without an image suffix")
    return suffix


def _add_member(
    tar: tarfile.TarFile, name: str, data: bytes | Any, size: int
) -> tuple[str, int, int, str]:
    """Add one member (deterministic header); return its index entry (ext, offset, size, name)."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    header = len(info.tobuf(tar.format, tar.encoding, tar.errors))
    offset = tar.offset + header
    tar.addfile(info, io.BytesIO(data) if isinstance(data, bytes) else data)
    return name.split(".", 1)[1], offset, size, name
