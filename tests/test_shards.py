"""WebDataset shards: the writer, DALI's reader over them, sharding across ranks, and errors."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import PHOTO_DIR
from nvidia.dali import fn, pipeline_def
from nvidia.dali.plugin.base_iterator import LastBatchPolicy
from nvidia.dali.plugin.pytorch import DALIGenericIterator
from PIL import Image
from rich.console import Console
from test_training import one_file_per_class

from dali_saliencymix.app.shards import shards_command
from dali_saliencymix.data.shard_writer import folder_samples, write_shards
from dali_saliencymix.data.shards import ShardError, check_shards, load_manifest
from dali_saliencymix.pipeline.read import read_shards


def class_folder(root: Path, classes: int = 11) -> Path:
    """`classes` class folders (ids up to two digits) of 1 or 2 photos; one photo is a PNG."""
    photos = sorted(PHOTO_DIR.glob("*/*.jpg"))
    k = 0
    for c in range(classes):
        (root / f"c{c:02d}").mkdir(parents=True)
        for j in range(1 + c % 2):
            shutil.copy(photos[k % len(photos)], root / f"c{c:02d}" / f"{j}.jpg")
            k += 1
    Image.open(photos[0]).convert("RGB").resize((40, 30)).save(root / "c01" / "2.png")
    return root


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def epoch_of(pipe_fn, batch_size: int) -> list[tuple[bytes, int]]:
    """One epoch of (encoded bytes, label) of a no-shuffle pipeline, padding trimmed."""
    pipe = pipe_fn(batch_size=batch_size, num_threads=1, device_id=None)
    pipe.build()
    n = pipe.reader_meta("Reader")["epoch_size"]
    out = []
    for _ in range(-(-n // batch_size)):
        encoded, labels = pipe.run()
        for i in range(batch_size):
            label = np.array(labels[i])
            assert label.shape == (1,) and label.dtype == np.int32
            out.append((np.array(encoded[i]).tobytes(), int(label[0])))
    return out[:n]


def test_folder_and_its_shards_give_the_same_files_and_labels(tmp_path: Path) -> None:
    data = class_folder(tmp_path / "data")
    classes, samples = folder_samples(data)
    assert len(samples) == 17 and classes == [f"c{c:02d}" for c in range(11)]
    tars = write_shards(samples, tmp_path / "shards", shard_size=5, class_names=classes)
    assert [t.name for t in tars] == [f"shard-{i:06d}.tar" for i in range(4)]

    manifest = load_manifest(tmp_path / "shards")
    assert manifest.classes == classes and manifest.num_samples == 17
    assert [s["num_samples"] for s in manifest.shards] == [5, 5, 5, 2]
    assert manifest.image_exts == ["jpg", "png"]
    with tarfile.open(tars[0]) as tar:  # <basename>.jpg and <basename>.cls, ASCII class id
        names = tar.getnames()
        assert all(n.split(".")[1] in ("jpg", "png", "cls") for n in names)
        assert len({n.split(".")[0] for n in names}) == 5 and len(names) == 10
        cls = [tar.extractfile(n).read() for n in names if n.endswith(".cls")]
        assert all(c.decode().isdigit() for c in cls)

    @pipeline_def
    def shard_pipe():
        encoded, labels = read_shards(tmp_path / "shards")
        return encoded, labels

    @pipeline_def
    def folder_pipe():
        encoded, labels = fn.readers.file(file_root=str(data), pad_last_batch=True, name="Reader")
        return encoded, labels

    @pipeline_def
    def list_pipe():
        encoded, labels = fn.readers.file(
            files=[str(p) for p, _ in samples],
            labels=[c for _, c in samples],
            pad_last_batch=True,
            name="Reader",
        )
        return encoded, labels

    expected = Counter((sha1(p.read_bytes()), c) for p, c in samples)
    assert len(expected) == 17  # every (file, label) pair differs
    for pipe_fn in (shard_pipe, folder_pipe, list_pipe):
        got = Counter((sha1(b), c) for b, c in epoch_of(pipe_fn, batch_size=4))
        assert got == expected
    # One batch of the whole epoch: the PNG comes back byte for byte, with its class.
    shard = dict(epoch_of(shard_pipe, batch_size=17))
    assert shard[(data / "c01" / "2.png").read_bytes()] == 1


def test_index_files_match_dalis_wds2idx(tmp_path: Path) -> None:
    wds2idx = pytest.importorskip("wds2idx")  # shipped with the nvidia-dali wheel
    data = class_folder(tmp_path / "data", classes=4)
    classes, samples = folder_samples(data)
    tars = write_shards(samples, tmp_path / "shards", shard_size=3, class_names=classes)
    for tar in tars:
        ref = tmp_path / "ref.idx"
        with wds2idx.IndexCreator(str(tar), str(ref), verbose=False) as creator:
            creator.create_index()
        assert tar.with_suffix(".idx").read_text() == ref.read_text()
    assert check_shards(tmp_path / "shards").index_paths == [t.with_suffix(".idx") for t in tars]


def test_writing_is_deterministic_and_shuffles_the_class_order(tmp_path: Path) -> None:
    data = class_folder(tmp_path / "data")
    classes, samples = folder_samples(data)
    a = write_shards(samples, tmp_path / "a", shard_size=4, class_names=classes)
    b = write_shards(samples, tmp_path / "b", shard_size=4, class_names=classes)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    plain = write_shards(
        samples, tmp_path / "plain", shard_size=100, class_names=classes, shuffle_seed=None
    )
    with tarfile.open(plain[0]) as tar:
        labels = [int(tar.extractfile(n).read()) for n in tar.getnames() if n.endswith(".cls")]
    assert labels == [c for _, c in samples]  # no seed: the given order
    with tarfile.open(a[0]) as tar:
        labels = [int(tar.extractfile(n).read()) for n in tar.getnames() if n.endswith(".cls")]
    assert labels != sorted(labels)  # seeded: not class-sorted


def rank_epochs(
    shard_dir: Path, shard_id: int, num_shards: int, epochs: int, shuffle: bool
) -> list[list[int]]:
    """Labels read per epoch by one rank, last batch trimmed as DALI's PARTIAL policy does."""

    @pipeline_def(batch_size=4, num_threads=1, device_id=None, seed=100 + shard_id)
    def pipe():
        _, labels = read_shards(
            shard_dir,
            shard_id=shard_id,
            num_shards=num_shards,
            shuffle=shuffle,
            seed=100 + shard_id,
        )
        return labels

    p = pipe()
    p.build()
    it = DALIGenericIterator(
        [p], ["label"], reader_name="Reader", last_batch_policy=LastBatchPolicy.PARTIAL
    )
    return [[int(x) for batch in it for x in batch[0]["label"].flatten()] for _ in range(epochs)]


def test_shuffled_epochs_read_every_sample_once(tmp_path: Path) -> None:
    n = 11
    data = one_file_per_class(tmp_path / "data", n)
    classes, samples = folder_samples(data)
    write_shards(samples, tmp_path / "shards", shard_size=3, class_names=classes)
    epochs = rank_epochs(tmp_path / "shards", 0, 1, epochs=3, shuffle=True)
    for labels in epochs:
        assert sorted(labels) == list(range(n))
    unshuffled = rank_epochs(tmp_path / "shards", 0, 1, epochs=1, shuffle=False)[0]
    assert sorted(unshuffled) == list(range(n))
    assert len({tuple(e) for e in [*epochs, unshuffled]}) > 1  # the order changes


@pytest.mark.parametrize("shuffle", [False, True])
def test_two_ranks_read_every_sample_exactly_once(tmp_path: Path, shuffle: bool) -> None:
    """Ranks split the samples over all tars: 11 samples in tars of 3, 3, 3, 2 -> 5 + 6."""
    n = 11
    data = one_file_per_class(tmp_path / "data", n)
    classes, samples = folder_samples(data)
    write_shards(samples, tmp_path / "shards", shard_size=3, class_names=classes)
    ranks = [rank_epochs(tmp_path / "shards", r, 2, epochs=3, shuffle=shuffle) for r in (0, 1)]
    for epoch in range(3):
        first, second = ranks[0][epoch], ranks[1][epoch]
        assert sorted((len(first), len(second))) == [5, 6]  # ranks move on a shard per epoch
        assert sorted(first + second) == list(range(n))  # every sample exactly once


def write_raw_tar(path: Path, labels: list[bytes]) -> Path:
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for i, text in enumerate(labels):
            for ext, data in (("jpg", bytes([i + 1]) * (i + 1)), ("cls", text)):
                info = tarfile.TarInfo(f"{i:04d}.{ext}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def test_ascii_class_ids_are_parsed_in_dali_and_bad_ones_give_minus_one(tmp_path: Path) -> None:
    texts = [b"0", b"7", b"42", b"417", b"999999999", b"", b"12a", b"1234567890", b" 5"]
    expected = [0, 7, 42, 417, 999999999, -1, -1, -1, -1]
    tar = write_raw_tar(tmp_path / "raw.tar", texts)  # no index, no manifest

    @pipeline_def(batch_size=len(texts), num_threads=1, device_id=None)
    def pipe():
        encoded, labels = read_shards([tar])
        return encoded, labels

    p = pipe()
    p.build()
    encoded, labels = p.run()
    assert [int(np.array(labels[i])[0]) for i in range(len(texts))] == expected
    assert [len(np.array(encoded[i])) for i in range(len(texts))] == list(range(1, 10))


def test_shards_command_writes_shards_and_reports(tmp_path: Path) -> None:
    data = class_folder(tmp_path / "data")
    buffer = io.StringIO()
    console = Console(file=buffer, width=120)
    tars = shards_command(data, tmp_path / "out", 6, console)
    assert len(tars) == 3
    text = " ".join(buffer.getvalue().split())
    assert "wrote 17 images of 11 classes to 3 shards" in text
    assert load_manifest(tmp_path / "out").classes == sorted(p.name for p in data.iterdir())
    with pytest.raises(ShardError, match="shard_size must be an integer >= 1, got 0"):
        shards_command(data, tmp_path / "out2", 0, console)


def test_errors_say_what_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ShardError, match="does not exist"):
        check_shards(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ShardError, match="holds no .tar shards.*dali-saliencymix shards"):
        check_shards(tmp_path / "empty")

    data = class_folder(tmp_path / "data", classes=3)
    classes, samples = folder_samples(data)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ShardError, match="shard_size must be an integer >= 1"):
            write_shards(samples, tmp_path / "bad", shard_size=bad, class_names=classes)
    with pytest.raises(ShardError, match=r"class ids outside \[0, 2\)"):
        write_shards(samples, tmp_path / "bad", shard_size=2, class_names=classes[:2])
    assert not (tmp_path / "bad").exists()
    with pytest.raises(ShardError, match="cannot read image .*gone.jpg"):
        write_shards(
            [*samples, (data / "gone.jpg", 0)], tmp_path / "bad", shard_size=9, class_names=classes
        )

    tars = write_shards(samples, tmp_path / "shards", shard_size=2, class_names=classes)
    with pytest.raises(ShardError, match="already holds shards"):
        write_shards(samples, tmp_path / "shards", shard_size=2, class_names=classes)
    with pytest.raises(ShardError, match="label_key='label'"):
        check_shards(tmp_path / "shards", label_key="label")
    with pytest.raises(ShardError, match="misses image files"):
        check_shards(tmp_path / "shards", image_key="jpg")  # the PNG is under 'png'
    assert check_shards(tmp_path / "shards", image_key="png;jpg").image_key == "png;jpg"

    tars[-1].unlink()
    with pytest.raises(ShardError, match=rf"missing: \['{tars[-1].name}'\]"):
        check_shards(tmp_path / "shards")
    shutil.copy(tars[0], tars[-1])  # back, with the wrong samples
    with pytest.raises(ShardError, match="counts .* samples, manifest.json says"):
        idx = tars[-1].with_suffix(".idx")
        idx.write_text(tars[0].with_suffix(".idx").read_text())
        check_shards(tmp_path / "shards")
    (tmp_path / "shards" / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ShardError, match="not a valid shard manifest"):
        check_shards(tmp_path / "shards")


def test_dali_checkpoint_resumes_the_shuffled_shard_reader(tmp_path: Path) -> None:
    data = one_file_per_class(tmp_path / "data", 11)
    classes, samples = folder_samples(data)
    write_shards(samples, tmp_path / "shards", shard_size=3, class_names=classes)

    @pipeline_def(batch_size=4, num_threads=1, device_id=None, seed=7, enable_checkpointing=True)
    def pipe():
        _, labels = read_shards(tmp_path / "shards", shard_id=1, num_shards=2, shuffle=True, seed=7)
        return labels

    def batches(p, k: int) -> list[list[int]]:
        return [[int(np.array(x)[0]) for x in p.run()[0]] for _ in range(k)]

    first = pipe()
    first.build()
    batches(first, 3)  # into the second epoch
    checkpoint = first.checkpoint()
    resumed = pipe(checkpoint=checkpoint)
    resumed.build()
    assert batches(resumed, 5) == batches(first, 5)
