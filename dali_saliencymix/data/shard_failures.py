"""Naming the tar and the sample behind a DALI error while reading WebDataset shards.

DALI's webdataset reader names the tar of a sample that misses a component (``Underful sample
detected at tar file at PATH``) and the tar, offset and member of an image its decoder reports
(``Failed to decode sample #k : TAR:OFFSET:MEMBER``), but nothing for a format the decoder does
not recognise (``nvImageCodec failure: '#3'``) or a label outside the class count (the mixing
operator says ``sample k has class c``, a label that is not ASCII digits reads as -1). Here the
shards are read again in Python (tar headers, label members, image bytes) to find the samples:
:func:`explain_error` for any dataset, :func:`explain_shard_failure` for shards.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dali_saliencymix.data.decode_check import (
    DECODE_FAILED,
    LOCATE_LIMIT,
    NVIMGCODEC,
    DataError,
    dali_cause,
    explain_failure,
    undecodable,
)
from dali_saliencymix.data.folder import ImageFolder
from dali_saliencymix.data.shards import MAX_LABEL_DIGITS, ShardSet

_UNDERFUL = re.compile(r'Underful sample detected at tar file at "([^"]+)"')
_LABEL_RANGE = re.compile(r"has class (-?\d+), expected 0 <= label < num_classes = (\d+)")
# Samples named in one message.
SHOWN = 5
FIX = (
    "write the shards again from a checked folder (`dali-saliencymix shards` decodes every "
    "image it packs and writes labels as the reader reads them)"
)


@dataclass
class ShardSample:
    """One sample of a tar: its key (the member names before the first dot) and members."""

    tar: Path
    key: str
    members: dict[str, tuple[int, int]] = field(default_factory=dict)  # ext -> (offset, size)

    def read(self, ext: str) -> bytes:
        """The bytes of the member with extension `ext`."""
        offset, size = self.members[ext]
        with self.tar.open("rb") as f:
            f.seek(offset)
            return f.read(size)

    def name(self) -> str:
        """``TAR, sample KEY`` for messages."""
        return f"{self.tar}, sample {self.key}"


def shard_samples(paths: Sequence[Path]) -> Iterator[ShardSample]:
    """The samples of the tars, in order, from their headers (members grouped by key)."""
    for path in paths:
        current: ShardSample | None = None
        with tarfile.open(path, "r:") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                folder, _, base = member.name.rpartition("/")
                stem, _, ext = base.partition(".")
                key = f"{folder}/{stem}" if folder else stem
                if current is None or current.key != key:
                    if current is not None:
                        yield current
                    current = ShardSample(Path(path), key)
                current.members[ext] = (member.offset_data, member.size)
        if current is not None:
            yield current


def label_problem(sample: ShardSample, label_key: str, num_classes: int | None) -> str | None:
    """Why a sample's label cannot be a class id (None when it is one)."""
    if label_key not in sample.members:
        return f"has no .{label_key} member (the class id)"
    text = sample.read(label_key)
    if not text.isdigit() or len(text) > MAX_LABEL_DIGITS or not text.isascii():
        return (
            f"label {text[:20]!r} is not a class id: expected ASCII digits only (no sign, "
            "space or newline)"
        )
    if num_classes is not None and int(text) >= num_classes:
        return f"label {int(text)} is outside [0, {num_classes}) (num_classes = {num_classes})"
    return None


def bad_labels(shards: ShardSet, num_classes: int | None) -> list[str]:
    """``TAR, sample KEY: why`` for the first samples whose label is missing or no class id."""
    found = []
    for sample in shard_samples(shards.paths):
        problem = label_problem(sample, shards.label_key, num_classes)
        if problem:
            found.append(f"{sample.name()}: {problem}")
            if len(found) == SHOWN:
                break
    return found


def explain_shard_failure(message: str, shards: ShardSet) -> str | None:
    """A message naming the tar and the sample behind a DALI error on `shards`, else None."""
    underful = _UNDERFUL.search(message)
    if underful:
        return _missing_members(Path(underful.group(1)), shards)
    decode = DECODE_FAILED.search(message)
    if decode and ".tar:" in decode.group(2):
        tar, _, member = decode.group(2).strip().rpartition(":")
        tar = tar.rpartition(":")[0]
        key = member.partition(".")[0]
        return f"{tar}, sample {key} ({member}): {dali_cause(message)}; {FIX}"
    labels = _LABEL_RANGE.search(message)
    if labels:
        found = bad_labels(shards, int(labels.group(2)))
        if found:
            return f"{'; '.join(found)}; {FIX}"
        return None
    if NVIMGCODEC.search(message):
        return _locate_undecodable(message, shards)
    return None


def explain_error(err: BaseException, datasets: Sequence[ImageFolder | ShardSet]) -> str | None:
    """A message naming the file or the shard sample behind a DALI error, else None."""
    message = str(err)
    for shards in (d for d in datasets if isinstance(d, ShardSet)):
        text = explain_shard_failure(message, shards)
        if text:
            return text
    folders = [d for d in datasets if isinstance(d, ImageFolder)]
    return explain_failure(err, folders) if folders else None


def named_error(err: RuntimeError, datasets: Sequence[ImageFolder | ShardSet]) -> RuntimeError:
    """A DataError naming the file or sample behind `err`, or `err` itself."""
    text = explain_error(err, datasets)
    return DataError(text) if text else err


def _missing_members(tar: Path, shards: ShardSet) -> str:
    images = set(shards.image_key.split(";"))
    found = []
    for sample in shard_samples([tar]):
        missing = [f".{e}" for e in (shards.label_key,) if e not in sample.members]
        if not images & set(sample.members):
            missing.append(f"an image ({', '.join('.' + e for e in sorted(images))})")
        if missing:
            found.append(
                f"sample {sample.key} has no {' or '.join(missing)} (it has "
                f"{', '.join('.' + e for e in sample.members)})"
            )
    shown = "; ".join(found[:SHOWN]) or "a sample lacks a member"
    return f"{tar}: {shown}; every sample needs an image and its .{shards.label_key}"


def _locate_undecodable(message: str, shards: ShardSet) -> str:
    """Decode the images of the shards again (up to LOCATE_LIMIT samples) to name the bad ones."""
    images = shards.image_key.split(";")
    samples = []
    for sample in shard_samples(shards.paths):
        samples.append(sample)
        if len(samples) > LOCATE_LIMIT:
            return (
                f"DALI cannot decode an image of the shards in {shards.paths[0].parent} that it "
                f"does not name ({dali_cause(message)}); {FIX}"
            )

    def read(batch: Sequence[ShardSample]) -> list[tuple[ShardSample, np.ndarray | str]]:
        out: list[tuple[ShardSample, np.ndarray | str]] = []
        for s in batch:
            ext = next((e for e in images if e in s.members), None)
            data = np.frombuffer(s.read(ext), np.uint8) if ext else "no image member"
            out.append((s, data if not isinstance(data, np.ndarray) or data.size else "empty"))
        return out

    found = undecodable(samples, read)
    if not found:
        return (
            f"DALI failed on an image of the shards that it does not name ({dali_cause(message)})"
        )
    named = "; ".join(f"{s.name()}: {reason}" for s, reason in found[:SHOWN])
    return f"DALI cannot decode {len(found)} image(s) of the shards: {named}; {FIX}"
