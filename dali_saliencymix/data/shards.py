"""WebDataset tar shards: the folder's layout, its manifest, and checking it before reading.

Layout of a shard folder written by :mod:`.shard_writer`::

    OUT_DIR/shard-000000.tar   samples 000000000.jpg + 000000000.cls, 000000001.jpg + ...
    OUT_DIR/shard-000000.idx   DALI's index of the tar (wds2idx format v1.2)
    OUT_DIR/manifest.json      class names in id order, sample counts, keys

A sample is a pair of tar members sharing a basename: the image file's bytes, unchanged, under
the image key (``jpg`` for JPEG files, the lower-case suffix for other formats) and the class id
as ASCII decimal under ``cls``, as WebDataset writes it. The pipeline's reader
(``dali_saliencymix.pipeline.read``) parses that text into an int32 class id inside the DALI
graph, so shards give what ``fn.readers.file`` gives for a class folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dali_saliencymix.data.writing import lock_message

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "dali-saliencymix-webdataset"
DEFAULT_PATTERN = "shard-{:06d}.tar"
DEFAULT_KEYS = ("jpg", "cls")
JPEG_SUFFIXES = {".jpg", ".jpeg", ".jpe"}
INDEX_VERSION = "v1.2"
# Held by the writer while it writes (exclusive creation); its tars are .part until complete.
WRITING_LOCK = ".writing.lock"
PART_SUFFIX = ".part"
# Labels up to 999,999,999: nine ASCII digits at most, so that int32 arithmetic is exact.
MAX_LABEL_DIGITS = 9


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
    left_out: list[dict[str, str]] = field(default_factory=list)

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
            "left_out": self.left_out,
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


def is_shard_source(path: str | Path) -> bool:
    """Whether `path` is a tar shard, or a folder of shards.

    A folder is one when it has a ``manifest.json`` (as ``dali-saliencymix shards`` writes), the
    traces of a writer (its lock, ``.part`` files), or ``*.tar`` files and no sub-folders; a
    class folder with a stray tar beside its class sub-folders stays a class folder.
    """
    path = Path(path)
    if path.is_file():
        return path.suffix == ".tar"
    if not path.is_dir():
        return False
    if (path / MANIFEST).is_file() or _writer_traces(path):
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
            left_out=list(data.get("left_out", [])),
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
            _check_complete(root)
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


def _writer_traces(root: Path) -> list[Path]:
    """The lock and ``.tar.part`` files a shard writer leaves while (or when killed) writing."""
    lock = root / WRITING_LOCK
    return ([lock] if lock.exists() else []) + sorted(root.glob(f"*.tar{PART_SUFFIX}"))


def _check_complete(root: Path) -> None:
    """Refuse a folder that a writer is writing, or that a killed or interrupted one left."""
    traces = _writer_traces(root)
    if not traces:
        return
    again = (
        f"the tars there hold part of the data: remove the folder and write the shards again "
        f"(rm -r {root}; dali-saliencymix shards DATA_DIR {root} --shard-size N)"
    )
    lock = root / WRITING_LOCK
    if traces[0] == lock:
        raise ShardError(lock_message(lock, f"the shards in {root}", again))
    raise ShardError(
        f"{root} holds {len(traces)} {PART_SUFFIX} file(s) of an interrupted write "
        f"({traces[0].name}) and no complete {MANIFEST}: {again}"
    )
