"""WebDataset shards through the package: the factories, the trainer and the CLI read a shard
folder as they read its class folder (same files, same class ids), and class maps must agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import PHOTO_DIR
from test_shards import class_folder
from test_training import contrast_dataset, load_trainer

from dali_saliencymix.app import cli
from dali_saliencymix.data import DatasetError, load_dataset
from dali_saliencymix.data.decode_check import DataError
from dali_saliencymix.data.shards import ShardSet
from dali_saliencymix.pipeline import MixConfig, train_pipeline, val_pipeline
from dali_saliencymix.torch import SaliencyMixIterator


def write_shards(data: Path, out: Path, *extra: str) -> Path:
    assert cli.main(["shards", str(data), str(out), "--shard-size", "4", *extra]) == 0
    return out


def one_epoch(source: Path | str, **kwargs) -> list[tuple[bytes, int]]:
    """(image bytes, class id) of every sample of one epoch through val_pipeline, sorted."""
    pipe = val_pipeline(
        source, batch_size=5, num_threads=1, device_id=None, crop=32, resize=32, **kwargs
    )
    seen = []
    for images, labels in SaliencyMixIterator(pipe):
        seen += [(im.numpy().tobytes(), int(lab)) for im, lab in zip(images, labels, strict=True)]
    return sorted(seen)


def test_factory_reads_a_shard_folder_like_its_class_folder(tmp_path: Path) -> None:
    data = class_folder(tmp_path / "data")
    shards = write_shards(data, tmp_path / "shards")
    assert isinstance(load_dataset(shards), ShardSet)
    from_folder, from_shards = one_epoch(data), one_epoch(shards)
    assert len(from_folder) == load_dataset(data).num_files == 17
    assert from_shards == from_folder  # the same decoded images with the same class ids
    assert val_pipeline(shards, device_id=None, batch_size=2).classes == load_dataset(data).classes


def test_validation_shards_must_use_the_training_class_map(tmp_path: Path) -> None:
    train = class_folder(tmp_path / "train", classes=4)
    val = class_folder(tmp_path / "val", classes=4)
    (val / "c00").rename(val / "x_lacking")  # a class training lacks
    with pytest.raises(DatasetError, match="class folders that the training classes lack"):
        load_dataset(val, classes=load_dataset(train).classes)
    for p in (val / "x_lacking").iterdir():
        p.unlink()
    (val / "x_lacking").rmdir()  # val now lacks class c00: its own map would shift the ids
    own = write_shards(val, tmp_path / "val-own")
    with pytest.raises(DatasetError, match="written with another class map"):
        load_dataset(own, classes=load_dataset(train).classes)
    mapped = write_shards(val, tmp_path / "val-mapped", "--classes-from", str(train))
    ids = {label for _, label in one_epoch(mapped, classes=load_dataset(train).classes)}
    assert ids == {1, 2, 3}  # c01..c03 keep their training ids


def test_trainer_trains_from_shards(tmp_path: Path) -> None:
    data = contrast_dataset(tmp_path / "data", per_class=6)
    shards = write_shards(data, tmp_path / "shards")
    val = write_shards(data, tmp_path / "val", "--classes-from", str(shards))
    args = ["--epochs", "1", "--batch-size", "4", "--arch", "tiny", "--cpu", "--crop", "32"]
    history = load_trainer().main([str(shards), "--val-dir", str(val), *args, "--quiet"])
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])
    assert 0.0 <= history["val_top1"][0] <= 1.0


def test_shards_command_errors_are_plain_messages(tmp_path: Path, capsys) -> None:
    data = class_folder(tmp_path / "data", classes=3)
    assert cli.main(["shards", str(data), str(tmp_path / "o"), "--shard-size", "2"]) == 0
    assert cli.main(["shards", str(data), str(tmp_path / "o"), "--shard-size", "2"]) == 1
    assert "already" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["shards", str(data), str(tmp_path / "p"), "--shard-size", "0"])
    assert cli.main(["shards", str(data), str(data / "c00" / "shards"), "--shard-size", "2"]) == 1
    assert "lies inside" in " ".join(capsys.readouterr().err.split())


def foreign_shard(root: Path, labels: list[bytes]) -> Path:
    """A tar written by another tool, without a manifest: one JPEG per label text."""
    import io
    import tarfile

    root.mkdir(parents=True)
    jpeg = next(PHOTO_DIR.glob("*/*.jpg")).read_bytes()
    with tarfile.open(root / "foreign-000.tar", "w") as tar:
        for k, text in enumerate(labels):
            for suffix, data in ((".jpg", jpeg), (".cls", text)):
                info = tarfile.TarInfo(f"{k:04d}{suffix}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return root


def test_malformed_shard_labels_stop_training_even_without_mixing(tmp_path: Path) -> None:
    """A label with a trailing newline reads as -1: refused, not a silent row of zeros, and the
    error names the tar, the sample and the label's text (not "class -1")."""
    shards = foreign_shard(tmp_path / "foreign", [b"0", b"1\n", b"1", b"0"])
    for mix in (MixConfig(num_classes=2, enabled=False, label_smoothing=0.1), MixConfig(2)):
        pipe = train_pipeline(shards, batch_size=4, device_id=None, crop=32, mix=mix)
        with pytest.raises(DataError, match=r"foreign-000.tar, sample 0001: label b'1\\n' is not"):
            pipe.run()
    good = foreign_shard(tmp_path / "good", [b"0", b"1", b"1", b"0"])
    mix = MixConfig(num_classes=2, enabled=False, label_smoothing=0.1)
    (_, targets) = train_pipeline(good, batch_size=4, device_id=None, crop=32, mix=mix).run()
    rows = np.stack([np.array(t) for t in targets])
    np.testing.assert_allclose(np.sort(rows.max(1)), [0.95] * 4, rtol=1e-6)
    np.testing.assert_allclose(rows.sum(1), 1.0, rtol=1e-6)


def test_a_stray_tar_does_not_turn_a_class_folder_into_shards(tmp_path: Path) -> None:
    data = class_folder(tmp_path / "data", classes=3)
    (data / "backup.tar").write_bytes(b"")
    assert not isinstance(load_dataset(data), ShardSet)
    assert load_dataset(data).classes == ["c00", "c01", "c02"]


def test_trainer_stops_on_a_malformed_validation_label(tmp_path: Path) -> None:
    data = contrast_dataset(tmp_path / "data", per_class=4)
    val = foreign_shard(tmp_path / "val", [b"0", b"1 ", b"1", b"0"])
    args = ["--epochs", "1", "--batch-size", "4", "--arch", "tiny", "--cpu", "--crop", "32"]
    with pytest.raises(SystemExit, match="validation data has class id -1"):
        load_trainer().main([str(data), "--val-dir", str(val), *args, "--quiet"])
