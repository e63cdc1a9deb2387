"""Read: the encoded files of a dataset and their class ids, a DALI graph step.

:func:`read_files` reads exactly the files of a dataset from :mod:`dali_saliencymix.data`: a
class folder or a file list through ``fn.readers.file``, WebDataset shards through
``fn.readers.webdataset`` (:func:`read_shards`, whose ASCII labels :func:`parse_ascii_label`
turns into class ids in the graph); sharded across ranks, shuffled; int32 ids of shape (1,).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from nvidia.dali import fn, types
from nvidia.dali.data_node import DataNode
from nvidia.dali.pipeline import Pipeline

from dali_saliencymix.data.folder import ImageFolder
from dali_saliencymix.data.names import LIST_ENCODING, LIST_ERRORS
from dali_saliencymix.data.shards import MAX_LABEL_DIGITS, ShardSet, check_shards

READER = "Reader"

# File lists handed to fn.readers.file: DALI reads them when the pipeline is built
# (build_and_drop_lists deletes them then); other users' lists go with the folder at exit.
_LIST_DIR: tempfile.TemporaryDirectory | None = None
_PENDING_LISTS: list[Path] = []


def read_files(
    source: ImageFolder | ShardSet,
    *,
    shard_id: int = 0,
    num_shards: int = 1,
    shuffle: bool = False,
    seed: int | None = None,
    pad_last_batch: bool = True,
    name: str = READER,
) -> tuple[DataNode, DataNode]:
    """Graph step: the encoded files of `source` and their class ids (int32, shape (1,)).

    `source` is a dataset from :mod:`dali_saliencymix.data` (``scan_image_folder``,
    ``read_file_list`` or ``load_dataset``): exactly its files are read, with its labels,
    through ``fn.readers.file(file_list=...)`` (a list written for DALI, which reads it when
    the pipeline is built; far lighter than ``files=`` for a million files). Shards are
    contiguous ranges of the list; with `shuffle`, DALI first shuffles the whole list once (the
    same order on every rank), then draws batches from a buffer. WebDataset shards
    (:class:`~dali_saliencymix.data.shards.ShardSet`) are read by ``fn.readers.webdataset`` with the
    same outputs and the same rank split (:func:`~dali_saliencymix.pipeline.read.read_shards`). Call
    inside a pipeline definition.
    """
    if isinstance(source, ShardSet):
        return read_shards(
            source,
            shard_id=shard_id,
            num_shards=num_shards,
            shuffle=shuffle,
            seed=seed,
            name=name,
            pad_last_batch=pad_last_batch,
        )
    if not isinstance(source, ImageFolder):
        raise TypeError(
            f"read_files: expected a dataset from dali_saliencymix.dataset (ImageFolder or "
            f"ShardSet), got {type(source).__name__}"
        )
    kwargs: dict[str, object] = {
        "file_list": str(_write_file_list(source)),
        "shard_id": shard_id,
        "num_shards": num_shards,
        "random_shuffle": shuffle,
        "pad_last_batch": pad_last_batch,
        "name": name,
    }
    if seed is not None:
        kwargs["seed"] = seed
    return fn.readers.file(**kwargs)


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


def parse_ascii_label(text: DataNode, max_digits: int = MAX_LABEL_DIGITS) -> DataNode:
    """DALI graph step: ASCII decimal bytes (uint8, e.g. ``b"417"``) -> int32 of shape (1,).

    The last `max_digits` bytes are taken, padded in front with ``"0"``, and weighted by powers
    of ten. A label that is empty, longer than `max_digits` or not all digits (e.g. with a
    trailing newline) gives -1, which ``saliency_mix`` rejects as out of range, instead of a
    wrong class.
    """
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


def _write_file_list(source: ImageFolder) -> Path:
    global _LIST_DIR
    if _LIST_DIR is None:
        _LIST_DIR = tempfile.TemporaryDirectory(prefix="dali-saliencymix-lists-")
    fd, name = tempfile.mkstemp(suffix=".txt", dir=_LIST_DIR.name)
    with os.fdopen(fd, "w", encoding=LIST_ENCODING, errors=LIST_ERRORS) as f:
        for path, label in zip(source.files, source.labels, strict=True):
            f.write(f"{os.path.abspath(path)} {label}\n")
    _PENDING_LISTS.append(Path(name))
    return Path(name)


def build_and_drop_lists(pipe: Pipeline) -> Pipeline:
    """Build (DALI reads the file lists now), then delete the lists."""
    try:
        pipe.build()
    finally:
        while _PENDING_LISTS:
            _PENDING_LISTS.pop().unlink(missing_ok=True)
    return pipe
