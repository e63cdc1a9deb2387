"""A shard folder is complete or refused (issue 17, items 3, 4, 8, 9): one writer at a time, the
tars complete before the manifest, an interrupted write refused when read, Ctrl-C leaves
nothing, damaged files named before anything is written, and a sample that fails while training
is named by its tar and key."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from damaged import damaged_files, good_images
from test_training import load_trainer

from dali_saliencymix.app import cli
from dali_saliencymix.data import DatasetError, load_dataset
from dali_saliencymix.data.decode_check import DataError
from dali_saliencymix.data.shard_writer import write_folder_shards
from dali_saliencymix.data.shards import WRITING_LOCK, ShardError, load_manifest
from dali_saliencymix.pipeline import MixConfig, train_pipeline

TRAIN = ["--epochs", "1", "--batch-size", "4", "--arch", "tiny", "--cpu", "--crop", "32"]
TRAIN += ["--workers", "1", "--quiet"]

# A writer that stops for a minute once it has written five samples (two tars of two, one
# begun), after saying so in the file argv[3]; it is then killed or interrupted.
BLOCKED_WRITER = """
import sys, time
from pathlib import Path
import dali_saliencymix.data.shard_writer as writer
from dali_saliencymix.app import cli

ready, added = Path(sys.argv[3]), []
real_add = writer._add_member

def add(*args):
    added.append(1)
    if len(added) == 2 * 5 + 1:
        ready.write_text("writing")
        time.sleep(60)
    return real_add(*args)

writer._add_member = add
sys.exit(cli.main(["shards", sys.argv[1], sys.argv[2], "--shard-size", "2"]))
"""


def twelve_files(root: Path) -> Path:
    good_images(root / "cat", 6)
    good_images(root / "dog", 6, start=3)
    return root


def blocked_writer(data: Path, out: Path, ready: Path) -> subprocess.Popen:
    """A `shards` process stopped halfway through writing (it has said so in `ready`)."""
    child = subprocess.Popen(
        [sys.executable, "-c", BLOCKED_WRITER, str(data), str(out), str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=data.parent,  # outside the source tree: the installed package is imported
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the writer did not start"
        time.sleep(0.05)
    return child


def test_a_killed_write_is_refused_and_a_second_writer_too(tmp_path: Path) -> None:
    data, out = twelve_files(tmp_path / "data"), tmp_path / "shards"
    child = blocked_writer(data, out, tmp_path / "ready")
    try:
        # While it writes: a second writer is refused, and so is reading.
        with pytest.raises(ShardError, match=f"being written by process {child.pid}"):
            write_folder_shards(data, out, shard_size=2)
        with pytest.raises(DatasetError, match=f"being written by process {child.pid}"):
            load_dataset(out, num_classes=2)
    finally:
        child.kill()
        child.communicate()
    names = sorted(p.name for p in out.iterdir())
    assert WRITING_LOCK in names and "manifest.json" not in names
    assert not any(n.endswith(".tar") for n in names)  # all still .part
    # The reader's hint used to be --num-classes, which trained on part of the data.
    for kwargs in ({}, {"num_classes": 2}):
        with pytest.raises(DatasetError, match="no longer running.*part of the data.*rm -r"):
            load_dataset(out, **kwargs)
    with pytest.raises(SystemExit, match="no longer running") as err:
        load_trainer().main([str(out), *TRAIN, "--num-classes", "2"])
    assert err.value.code == 1
    with pytest.raises(ShardError, match="no longer running.*rm -r"):
        write_folder_shards(data, out, shard_size=2)
    (out / WRITING_LOCK).unlink()  # the lock removed by hand: the .part files still say it
    with pytest.raises(DatasetError, match=r"\.part file\(s\) of an interrupted write"):
        load_dataset(out, num_classes=2)
    with pytest.raises(ShardError, match="already holds shards"):
        write_folder_shards(data, out, shard_size=2)


def test_ctrl_c_in_shards_leaves_nothing_and_exits_130(tmp_path: Path) -> None:
    data, out = twelve_files(tmp_path / "data"), tmp_path / "shards"
    child = blocked_writer(data, out, tmp_path / "ready")
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert err.strip().splitlines() == ["dali-saliencymix shards: interrupted (Ctrl-C)"]
    assert not out.exists()  # it made the folder, it removed it


def test_shards_are_complete_when_the_manifest_is_there(tmp_path: Path) -> None:
    data, out = twelve_files(tmp_path / "data"), tmp_path / "shards"
    tars = write_folder_shards(data, out, shard_size=5)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(t.name for t in tars), *(t.with_suffix(".idx").name for t in tars), "manifest.json"]
    )
    assert load_manifest(out).num_samples == 12 and load_dataset(out).num_samples == 12


def test_shards_decode_what_they_pack_and_name_the_bad_files(tmp_path: Path, capsys) -> None:
    data = twelve_files(tmp_path / "data")
    damaged = damaged_files(data / "dog")
    out = tmp_path / "shards"
    with pytest.raises(ShardError) as err:
        write_folder_shards(data, out, shard_size=4)
    message = str(err.value)
    assert "7 files cannot be used" in message and "Nothing was written" in message
    assert sum(f"dog/{path.name}: " in message for path in damaged.values()) == 5
    assert "(and 2 more)" in message
    assert "--skip-bad" in message and not out.exists()
    assert cli.main(["shards", str(data), str(out), "--shard-size", "4", "--skip-bad"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "wrote 12 images of 2 classes, 7 left out" in printed
    assert "left out dog/truncated.jpg: decoding failed (" in printed
    manifest = load_manifest(out)
    assert sorted(e["path"] for e in manifest.left_out) == sorted(
        f"dog/{p.name}" for p in damaged.values()
    )
    assert manifest.num_samples == 12


def foreign(root: Path, change: dict[str, object]) -> Path:
    """Two tars of another tool (no manifest, no index), 4 samples each; `change` alters
    sample 0005 (or removes its member when the value is None)."""
    jpeg = next((Path(__file__).parent.parent / "dali_saliencymix/data/photos").glob("*/*.jpg"))
    root.mkdir(parents=True)
    for t in range(2):
        with tarfile.open(root / f"part-{t}.tar", "w") as tar:
            for k in range(4 * t, 4 * t + 4):
                members = {"jpg": jpeg.read_bytes(), "cls": str(k % 2).encode()}
                if k == 5:
                    members.update(change)
                for ext, value in members.items():
                    if value is None:
                        continue
                    info = tarfile.TarInfo(f"{k:04d}.{ext}")
                    info.size = len(value)
                    tar.addfile(info, io.BytesIO(value))
    return root


@pytest.mark.parametrize(
    "change, said",
    [
        ({"jpg": b"\xff\xd8\xff" + bytes(range(256)) * 8}, "sample 0005: nvImageCodec"),
        ({"jpg": b"this is text"}, "sample 0005: nvImageCodec: unsupported format"),
        ({"cls": None}, "sample 0005 has no .cls"),
        ({"cls": b"7"}, "sample 0005: label 7 is outside [0, 2)"),
        ({"cls": b"1\n"}, "sample 0005: label b'1\\n' is not a class id"),
    ],
    ids=["garbage", "text", "no-label", "label-7", "newline"],
)
def test_a_bad_sample_of_foreign_shards_is_named_by_tar_and_key(tmp_path, change, said) -> None:
    shards = foreign(tmp_path / "foreign", change)
    with pytest.raises(DataError) as err:
        pipe = train_pipeline(
            shards, batch_size=8, num_threads=1, device_id=None, crop=32, mix=MixConfig(2)
        )
        pipe.run()
    message = str(err.value)
    assert f"{shards / 'part-1.tar'}" in message and said in message, message


def test_a_truncated_jpeg_in_a_shard_is_named_by_tar_and_member(tmp_path: Path) -> None:
    jpeg = next((Path(__file__).parent.parent / "dali_saliencymix/data/photos").glob("*/*.jpg"))
    data = jpeg.read_bytes()
    cut = data[: data.index(b"\xff\xda") + 200]  # the scan cut short: every crop fails
    shards = foreign(tmp_path / "foreign", {"jpg": cut})
    mix = MixConfig(2, enabled=False)
    pipe = train_pipeline(shards, batch_size=8, num_threads=1, device_id=None, crop=32, mix=mix)
    with pytest.raises(DataError, match=r"part-1.tar, sample 0005 \(0005.jpg\): decoding failed"):
        pipe.run()
    with pytest.raises(SystemExit, match=r"part-1.tar, sample 0005") as err:
        load_trainer().main([str(shards), *TRAIN, "--num-classes", "2", "--batch-size", "8"])
    assert err.value.code == 1
    assert os.path.exists(shards / "part-1.tar")
