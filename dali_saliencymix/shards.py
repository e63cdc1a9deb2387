"""WebDataset tar shards: write them from a class folder, read them in a DALI pipeline.

Layout of a shard folder written by :func:`write_shards`::

    OUT_DIR/shard-000000.tar   samples 000000000.jpg + 000000000.cls, 000000001.jpg + ...
    OUT_DIR/shard-000000.idx   DALI's index of the tar (wds2idx format v1.2)
    OUT_DIR/manifest.json      class names in id order, sample counts, keys

A sample is a pair of tar members sharing a basename: the image file's bytes, unchanged, under
the image key (``jpg`` for JPEG files, the lower-case suffix for other formats) and the class id
as ASCII decimal under ``cls``, as WebDataset writes it. :func:`read_shards` parses that text
into an int32 class id inside the DALI graph, so it returns what ``fn.readers.file`` returns.
"""

from __future__ import annotations

import io
import json
import os
import random
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from nvidia.dali.data_node import DataNode
    from rich.console import Console

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "dali-saliencymix-webdataset"
DEFAULT_PATTERN = "shard-{:06d}.tar"
DEFAULT_KEYS = ("jpg", "cls")
# Labels up to 999,999,999: nine ASCII digits at most, so that int32 arithmetic is exact.
MAX_LABEL_DIGITS = 9
_JPEG_SUFFIXES = {".jpg", ".jpeg", ".jpe"}
_INDEX_VERSION = "v1.2"


class ShardError(ValueError):
    """The shard folder (or the request to write one) cannot be used; the message says why."""


@dataclass
class ShardManifest:
    """What :func:`write_shards` records in ``manifest.json`` next to the tars."""

    classes: list[str]
    num_samples: int
    image_key: str
    label_key: str
    image_exts: list[str]
    shards: list[dict[str, Any]] = field(default_factory=list)
    shuffle_seed: int | None = None

    @property
    def num_classes(self) -> int:
        """Number of classes (the class ids are 0 .. num_classes - 1)."""
        return len(self.classes)

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to ``manifest.json``."""
        return {
            "format": MANIFEST_FORMAT,
            "version": 1,
            "classes": self.classes,
            "num_samples": self.num_samples,
            "keys": {"image": self.image_key, "label": self.label_key},
            "image_exts": self.image_exts,
            "label_encoding": "ascii-decimal",
            "shuffle_seed": self.shuffle_seed,
            "shards": self.shards,
        }


@dataclass
class ShardSet:
    """Checked tar shards, ready for ``fn.readers.webdataset``."""

    paths: list[Path]
    index_paths: list[Path] | None
    image_key: str
    label_key: str
    manifest: ShardManifest | None

    @property
    def classes(self) -> list[str] | None:
        """Class names in id order, when the shards come with a manifest."""
        return self.manifest.classes if self.manifest else None

    @property
    def num_classes(self) -> int | None:
        """Number of classes in the manifest's class map (None without a manifest)."""
        return self.manifest.num_classes if self.manifest else None

    @property
    def num_samples(self) -> int | None:
        """Number of samples, from the manifest or the index files (None when unknown)."""
        if self.manifest is not None:
            return self.manifest.num_samples
        if self.index_paths is not None:
            return sum(_index_count(p) for p in self.index_paths)
        return None


def folder_samples(
    root: str | Path, classes: Sequence[str] | None = None
) -> tuple[list[str], list[tuple[Path, int]]]:
    """Class names and ``(path, class id)`` of a class folder, as the package's scan reads it.

    The files and ids are those of ``scan_image_folder`` (hidden names ignored, nested folders
    in their class, the same order as the folder reader); `classes` is the class map to use
    (the training folder's, for a validation folder).
    """
    from dali_saliencymix.dataset import scan_image_folder

    folder = scan_image_folder(root, classes=classes)
    return folder.classes, list(zip(folder.files, folder.labels, strict=True))


def is_shard_source(path: str | Path) -> bool:
    """Whether `path` is a tar shard, or a folder of shards.

    A folder is one when it has a ``manifest.json`` (as ``dali-saliencymix shards`` writes), or
    ``*.tar`` files and no sub-folders; a class folder with a stray tar beside its class
    sub-folders stays a class folder.
    """
    path = Path(path)
    if path.is_file():
        return path.suffix == ".tar"
    if not path.is_dir():
        return False
    if (path / MANIFEST).is_file():
        return True
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    return any(p.suffix == ".tar" for p in entries) and not any(p.is_dir() for p in entries)


def load_shard_set(
    source: str | Path | Sequence[str | Path] | ShardSet,
    *,
    num_classes: int | None = None,
    classes: Sequence[str] | None = None,
) -> ShardSet:
    """Checked shards whose class map fits the request, as ``load_dataset`` does for folders.

    `classes` (the training class map, for validation shards) must equal the manifest's;
    `num_classes` must cover the manifest's classes. Shards without a manifest carry no class
    map: then `num_classes` (or `classes`) must be given.
    """
    if isinstance(source, ShardSet) and num_classes is None and classes is None:
        return source  # loaded before, with its class map checked then
    shard_set = source if isinstance(source, ShardSet) else check_shards(source)
    where = shard_set.paths[0].parent
    known = shard_set.classes
    if known is None and num_classes is None and classes is None:
        raise ShardError(
            f"the shards in {where} have no {MANIFEST}, so their class map is unknown: give "
            "num_classes (--num-classes)"
        )
    if known is not None and classes is not None and list(classes) != known:
        raise ShardError(
            f"the shards in {where} were written with another class map ({len(known)} classes: "
            f"{known[:3]}...) than the training data ({len(classes)}: {list(classes)[:3]}...); "
            "write them with `dali-saliencymix shards VAL_DIR OUT_DIR --classes-from TRAIN_DIR`"
        )
    if known is not None and num_classes is not None and num_classes < len(known):
        raise ShardError(
            f"the shards in {where} have {len(known)} classes but num_classes is {num_classes}: "
            f"labels would fall outside [0, num_classes); use --num-classes {len(known)} or more"
        )
    return shard_set


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

    """
    image_key, label_key = keys
    _check_write_args(files, shard_size, class_names, pattern, image_key, label_key)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ShardError(f"{out} is not a folder: give a folder for the shards")
    if out.is_dir() and (any(out.glob("*.tar")) or (out / MANIFEST).exists()):
        raise ShardError(f"{out} already holds shards: give an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)

    order = list(range(len(files)))
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
    digits = max(9, len(str(len(files) - 1)))
    tars: list[Path] = []
    shard_records: list[dict[str, Any]] = []
    image_exts: set[str] = set()
    for number, start in enumerate(range(0, len(order), shard_size)):
        chunk = order[start : start + shard_size]
        tar_path = out / pattern.format(number)
        index_path = tar_path.with_suffix(".idx")
        lines = []
        partial = tar_path.with_name(tar_path.name + ".part")
        with tarfile.open(partial, "w", format=tarfile.USTAR_FORMAT) as tar:
            for position in chunk:
                path, label = Path(files[position][0]), int(files[position][1])
                ext = image_key if path.suffix.lower() in _JPEG_SUFFIXES else _suffix_key(path)
                image_exts.add(ext)
                basename = f"{position:0{digits}d}"
                components = []
                try:
                    f = path.open("rb")
                except OSError as e:
                    raise ShardError(f"cannot read image {path}: {e.strerror}") from e
                with f:
                    size = os.fstat(f.fileno()).st_size
                    components.append(_add_member(tar, f"{basename}.{ext}", f, size))
                text = str(label).encode("ascii")
                components.append(_add_member(tar, f"{basename}.{label_key}", text, len(text)))
                lines.append(" ".join(" ".join(map(str, c)) for c in components))
                if progress is not None:
                    progress(1)
        index_path.write_text(f"{_INDEX_VERSION} {len(lines)}\n" + "\n".join(lines) + "\n")
        partial.replace(tar_path)
        tars.append(tar_path)
        shard_records.append(
            {"tar": tar_path.name, "index": index_path.name, "num_samples": len(chunk)}
        )

    manifest = ShardManifest(
        classes=list(class_names),
        num_samples=len(files),
        image_key=image_key,
        label_key=label_key,
        image_exts=sorted(image_exts, key=lambda e: (e != image_key, e)),
        shards=shard_records,
        shuffle_seed=shuffle_seed,
    )
    (out / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=1) + "\n")
    return tars


def load_manifest(out_dir: str | Path) -> ShardManifest:
    """Read ``manifest.json`` of a shard folder written by :func:`write_shards`."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        raise ShardError(
            f"{path} does not exist: the folder was not written by `dali-saliencymix shards` "
            "(or the writing did not finish); write the shards again"
        )
    try:
        data = json.loads(path.read_text())
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {MANIFEST_FORMAT!r}")
        return ShardManifest(
            classes=[str(c) for c in data["classes"]],
            num_samples=int(data["num_samples"]),
            image_key=str(data["keys"]["image"]),
            label_key=str(data["keys"]["label"]),
            image_exts=[str(e) for e in data["image_exts"]],
            shards=list(data["shards"]),
            shuffle_seed=data.get("shuffle_seed"),
        )
    except (ValueError, KeyError, TypeError) as e:
        raise ShardError(
            f"{path} is not a valid shard manifest ({e}); write the shards again"
        ) from e


def check_shards(
    shards: str | Path | Sequence[str | Path],
    *,
    image_key: str | None = None,
    label_key: str | None = None,
) -> ShardSet:
    """Check a shard folder (or a list of tar files) before DALI reads it.

    A folder's ``*.tar`` files are read in name order; with a ``manifest.json`` they must be
    exactly the manifest's shards, and the keys default to the manifest's. Index files
    (``x.idx`` next to ``x.tar``) are used when every tar has one; otherwise DALI builds the
    indices itself when the pipeline is built, which reads every tar header.
    """
    manifest = None
    if isinstance(shards, (str, Path)):
        root = Path(shards)
        if not root.exists():
            raise ShardError(f"shard folder {root} does not exist")
        if root.is_dir():
            paths = sorted(p for p in root.glob("*.tar") if p.is_file())
            if not paths:
                raise ShardError(
                    f"{root} holds no .tar shards: write them with "
                    f"`dali-saliencymix shards DATA_DIR {root} --shard-size N`"
                )
            if (root / MANIFEST).exists():
                manifest = load_manifest(root)
                _check_against_manifest(root, paths, manifest)
        else:
            paths = [root]
    else:
        paths = [Path(p) for p in shards]
        if not paths:
            raise ShardError("no shard files given")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ShardError(f"shard files do not exist: {', '.join(missing[:5])}")
    if manifest is not None:
        where = f"the manifest of {paths[0].parent}"
        if image_key is not None and not set(image_key.split(";")) >= set(manifest.image_exts):
            raise ShardError(
                f"image_key={image_key!r} misses image files that {where} records under "
                f"{manifest.image_exts}; leave image_key unset"
            )
        if label_key is not None and label_key != manifest.label_key:
            raise ShardError(
                f"label_key={label_key!r}, but {where} records {manifest.label_key!r}; leave "
                "label_key unset"
            )
        image_key = image_key or ";".join(manifest.image_exts or [manifest.image_key])
        label_key = label_key or manifest.label_key
    index_paths = [p.with_suffix(".idx") for p in paths]
    if not all(p.is_file() for p in index_paths):
        index_paths = None
    return ShardSet(
        paths=paths,
        index_paths=index_paths,
        image_key=image_key or DEFAULT_KEYS[0],
        label_key=label_key or DEFAULT_KEYS[1],
        manifest=manifest,
    )


def parse_ascii_label(text: DataNode, max_digits: int = MAX_LABEL_DIGITS) -> DataNode:
    """DALI graph step: ASCII decimal bytes (uint8, e.g. ``b"417"``) -> int32 of shape (1,).

    The last `max_digits` bytes are taken, padded in front with ``"0"``, and weighted by powers
    of ten. A label that is empty, longer than `max_digits` or not all digits (e.g. with a
    trailing newline) gives -1, which ``saliency_mix`` rejects as out of range, instead of a
    wrong class.
    """
    import numpy as np
    from nvidia.dali import fn, types

    length = text.shape(dtype=types.INT32)
    window = fn.slice(
        text,
        length - max_digits,
        max_digits,
        axes=[0],
        out_of_bounds_policy="pad",
        fill_values=ord("0"),
    )
    digits = fn.cast(window, dtype=types.INT32) - ord("0")
    weights = np.array([10 ** (max_digits - 1 - i) for i in range(max_digits)], dtype=np.int32)
    value = fn.reductions.sum(digits * types.Constant(weights), axes=0)
    ok = (
        (fn.reductions.min(digits, axes=0) >= 0)
        & (fn.reductions.max(digits, axes=0) <= 9)
        & (fn.reshape(length, shape=[]) >= 1)
        & (fn.reshape(length, shape=[]) <= max_digits)
    )
    ok = fn.cast(ok, dtype=types.INT32)
    label = value * ok + (ok - 1)
    return fn.reshape(fn.cast(label, dtype=types.INT32), shape=[1])


def read_shards(
    shards: str | Path | Sequence[str | Path] | ShardSet,
    *,
    shard_id: int = 0,
    num_shards: int = 1,
    shuffle: bool = False,
    seed: int | None = None,
    name: str = "Reader",
    image_key: str | None = None,
    label_key: str | None = None,
    pad_last_batch: bool = True,
    initial_fill: int = 1024,
) -> tuple[DataNode, DataNode]:
    """DALI graph step: read WebDataset shards as ``fn.readers.file`` reads a class folder.

    Returns ``(encoded, labels)``: the image file bytes (uint8) and the class id (int32, shape
    (1,)). Samples are split between `num_shards` ranks by position over all tars, like the
    file reader (without `shuffle` a rank moves on to the next rank's part each epoch, as the
    file reader does); ``pipe.reader_meta(name)`` and DALI's iterators' last-batch policies work
    the same. With `shuffle`, samples are drawn from a buffer of `initial_fill` (seeded by
    `seed`, which may differ per rank) and the tar order is reshuffled every epoch
    (``shuffle_after_epoch``) with DALI's fixed seed, the same on every rank, so the ranks stay
    disjoint. Call inside a pipeline definition; checks the shards first (:func:`check_shards`).
    """
    from nvidia.dali import fn

    if isinstance(shards, ShardSet):
        checked = shards
    else:
        checked = check_shards(shards, image_key=image_key, label_key=label_key)
    kwargs: dict[str, Any] = {
        "paths": [str(p) for p in checked.paths],
        "ext": [checked.image_key, checked.label_key],
        "missing_component_behavior": "error",
        "shard_id": shard_id,
        "num_shards": num_shards,
        "random_shuffle": shuffle,
        "pad_last_batch": pad_last_batch,
        "name": name,
    }
    if checked.index_paths is not None:
        kwargs["index_paths"] = [str(p) for p in checked.index_paths]
    if shuffle:
        kwargs["initial_fill"] = initial_fill
        kwargs["shuffle_after_epoch"] = True
    if seed is not None:
        kwargs["seed"] = seed
    encoded, text = fn.readers.webdataset(**kwargs)
    return encoded, parse_ascii_label(text)


def shards_command(
    data_dir: str | Path,
    out_dir: str | Path,
    shard_size: int,
    console: Console,
    *,
    pattern: str = DEFAULT_PATTERN,
    shuffle_seed: int | None = 0,
    classes: Sequence[str] | None = None,
) -> list[Path]:
    """The ``shards`` command: scan a class folder, write its shards with a progress bar.

    `classes`: the class map to write the ids in (the training data's, for a validation folder).
    """
    if shard_size < 1:
        raise ShardError(f"--shard-size must be at least 1, got {shard_size}")
    source, target = Path(data_dir).resolve(), Path(out_dir).resolve()
    if target == source or source in target.parents:
        raise ShardError(
            f"{out_dir} lies inside {data_dir}: the shards would become files of the dataset; "
            "write them to a folder outside it"
        )
    classes, samples = folder_samples(data_dir, classes)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _FilesPerSecondColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("writing shards", total=len(samples))
        tars = write_shards(
            samples,
            out_dir,
            shard_size=shard_size,
            class_names=classes,
            pattern=pattern,
            shuffle_seed=shuffle_seed,
            progress=lambda k: bar.advance(task, k),
        )
    size = sum(p.stat().st_size for p in tars)
    console.print(
        f"wrote {len(samples)} images of {len(classes)} classes to {len(tars)} shards "
        f"({size / 2**20:.1f} MiB) in {out_dir}; class map in {Path(out_dir) / MANIFEST}"
    )
    return tars


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


def _index_count(path: Path) -> int:
    with path.open() as f:
        head = f.readline().split()
    if len(head) != 2 or not head[1].isdigit():
        raise ShardError(f"{path} is not a DALI webdataset index (first line {head})")
    return int(head[1])


def _check_against_manifest(root: Path, paths: list[Path], manifest: ShardManifest) -> None:
    listed = [s["tar"] for s in manifest.shards]
    found = [p.name for p in paths]
    if sorted(listed) != found:
        missing = sorted(set(listed) - set(found))
        extra = sorted(set(found) - set(listed))
        raise ShardError(
            f"{root}: the tars do not match {MANIFEST} (missing: {missing[:5]}, not listed: "
            f"{extra[:5]}); restore the missing tars, remove the others, or write the shards "
            "again"
        )
    for shard in manifest.shards:
        index = root / shard["index"]
        if index.is_file() and _index_count(index) != shard["num_samples"]:
            raise ShardError(
                f"{index} counts {_index_count(index)} samples, {MANIFEST} says "
                f"{shard['num_samples']}: write the shards again"
            )


class _FilesPerSecondColumn(ProgressColumn):
    """Rich progress column: samples written per second."""

    def render(self, task: Task) -> Text:
        """The rate, or '?' before there is one."""
        speed = task.finished_speed or task.speed
        return Text("? files/s" if speed is None else f"{speed:,.0f} files/s")
