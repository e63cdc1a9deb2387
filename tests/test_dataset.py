"""One class map: hidden, nested and linked folders, validation folders, and what DALI reads."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import PHOTO_DIR
from nvidia.dali import pipeline_def

from dali_saliencymix.data.check_lists import write_lists
from dali_saliencymix.data.folder import DatasetError, read_file_list, scan_image_folder
from dali_saliencymix.pipeline import read_files, train_pipeline, val_pipeline
from dali_saliencymix.torch import SaliencyMixIterator

PHOTOS = sorted(PHOTO_DIR.glob("*/*.jpg"))


def put(path: Path, k: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(PHOTOS[k % len(PHOTOS)], path)
    return path


def read_epoch(folder) -> list[tuple[str, int]]:
    """(file DALI read, label DALI gave) for one epoch of read_files over `folder`."""

    @pipeline_def(batch_size=4, num_threads=1, device_id=None, seed=0)
    def pipe():
        encoded, labels = read_files(folder)
        return encoded, labels

    p = pipe()
    p.build()
    n = p.reader_meta("Reader")["epoch_size"]
    seen = []
    while len(seen) < n:
        encoded, labels = p.run()
        for i in range(len(encoded)):
            seen.append((encoded[i].source_info(), int(np.array(labels[i])[0])))
    return seen[:n]


def labels_of(pipe) -> list[int]:
    return sorted(int(v) for _, labels in SaliencyMixIterator(pipe) for v in labels)


def test_hidden_folders_and_files_do_not_shift_the_labels(tmp_path: Path) -> None:
    data = tmp_path / "data"
    put(data / "cat" / "a.jpg", 0)
    put(data / "dog" / "b.jpg", 1)
    (data / ".ipynb_checkpoints").mkdir()  # empty, as Jupyter leaves it
    put(data / ".hidden" / "c.jpg", 2)  # a hidden folder with an image is no class either
    put(data / "cat" / ".ipynb_checkpoints" / "a-checkpoint.jpg", 3)
    (data / "dog" / ".DS_Store").write_bytes(b"\x00\x01")
    folder = scan_image_folder(data)
    assert folder.classes == ["cat", "dog"]
    assert [f.name for f in folder.files] == ["a.jpg", "b.jpg"] and folder.labels == [0, 1]
    pipe = train_pipeline(data, batch_size=2, num_threads=1, device_id=None, crop=32, mix=None)
    assert labels_of(pipe) == [0, 1]  # not 1 and 2, as fn.readers.file(file_root=...) gives
    assert sorted(read_epoch(folder)) == [
        (str(data / "cat/a.jpg"), 0),
        (str(data / "dog/b.jpg"), 1),
    ]


def test_nested_folders_belong_to_their_class_and_are_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    put(data / "cat" / "a.jpg", 0)
    put(data / "cat" / "2024" / "june" / "b.jpg", 1)
    put(data / "dog" / "c.jpg", 2)
    folder = scan_image_folder(data)
    assert folder.num_files == 3
    seen = sorted(read_epoch(folder))
    assert seen == [
        (str(data / "cat/2024/june/b.jpg"), 0),
        (str(data / "cat/a.jpg"), 0),
        (str(data / "dog/c.jpg"), 1),
    ]
    pipe = train_pipeline(data, batch_size=2, num_threads=1, device_id=None, crop=32, mix=None)
    assert pipe.pipeline.reader_meta("Reader")["epoch_size"] == folder.num_files


def test_symbolic_links_to_class_folders_and_images_are_followed_once(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    put(elsewhere / "birds" / "x.jpg", 3)
    data = tmp_path / "data"
    put(data / "cat" / "a.jpg", 0)
    os.symlink(elsewhere / "birds", data / "bird")  # a linked class folder
    os.symlink(PHOTOS[1], data / "cat" / "linked.jpg")  # a linked image
    os.symlink(data / "cat", data / "cat" / "loop")  # a link back into the class: read once
    folder = scan_image_folder(data)
    assert folder.classes == ["bird", "cat"]
    assert sorted(read_epoch(folder)) == [
        (str(data / "bird/x.jpg"), 0),
        (str(data / "cat/a.jpg"), 1),
        (str(data / "cat/linked.jpg"), 1),
    ]


def test_broken_links_and_non_images_are_reported_not_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    put(data / "cat" / "a.jpg", 0)
    os.symlink(tmp_path / "gone.jpg", data / "cat" / "dangling.jpg")
    (data / "cat" / "notes.txt").write_text("hi")
    with pytest.raises(DatasetError) as err:
        scan_image_folder(data)
    assert "cat/dangling.jpg: broken symbolic link" in str(err.value)
    assert "cat/notes.txt: not an image by name" in str(err.value)
    assert "dali-saliencymix check" in str(err.value)
    folder = scan_image_folder(data, strict=False)
    assert [f.name for f in folder.files] == ["a.jpg"]
    assert sorted(b.path.name for b in folder.rejected) == ["dangling.jpg", "notes.txt"]
    # What a check excluded is left out of a strict scan.
    folder = scan_image_folder(data, exclude=["cat/dangling.jpg", data / "cat" / "notes.txt"])
    assert folder.num_files == 1 and len(folder.excluded) == 0 and not folder.rejected


def test_validation_folders_take_the_training_class_map(tmp_path: Path) -> None:
    train = tmp_path / "train"
    for k, name in enumerate(["ant", "bee", "cat"]):
        put(train / name / f"{k}.jpg", k)
    classes = scan_image_folder(train).classes
    val = tmp_path / "val"
    put(val / "bee" / "b.jpg", 1)  # "ant" missing: bee must keep id 1, cat id 2
    put(val / "cat" / "c.jpg", 2)
    (val / ".ipynb_checkpoints").mkdir()
    folder = scan_image_folder(val, classes=classes)
    assert folder.classes == classes and folder.labels == [1, 2]
    pipe = val_pipeline(
        val, classes=classes, batch_size=2, num_threads=1, device_id=None, crop=32, resize=40
    )
    assert labels_of(pipe) == [1, 2] and pipe.classes == ["ant", "bee", "cat"]
    put(val / "zebra" / "z.jpg", 3)
    with pytest.raises(DatasetError, match=r"training classes lack: \['zebra'\]"):
        val_pipeline(val, classes=classes, batch_size=2, device_id=None)


def test_file_lists_round_trip_with_class_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    put(data / "cat" / "a b.jpg", 0)  # a space in the name
    put(data / "dog" / "c.jpg", 1)
    folder = scan_image_folder(data)
    lists = write_lists(folder, [], tmp_path / "lists")
    assert lists["files"].read_text() == "cat/a b.jpg 0\ndog/c.jpg 1\n"
    assert lists["classes"].read_text() == "cat\ndog\n"
    assert lists["excluded"].read_text() == ""
    again = read_file_list(lists["files"], data)
    assert again.classes == ["cat", "dog"] and again.labels == [0, 1]
    assert again.files == folder.files
    assert sorted(read_epoch(again)) == [
        (str(data / "cat/a b.jpg"), 0),
        (str(data / "dog/c.jpg"), 1),
    ]
    with pytest.raises(DatasetError, match="does not match the training classes"):
        read_file_list(lists["files"], data, classes=["dog", "cat"])
    (tmp_path / "bad.txt").write_text("cat/a b.jpg\n")
    with pytest.raises(DatasetError, match="line 1: expected 'path label'"):
        read_file_list(tmp_path / "bad.txt", data)


def test_num_classes_below_the_classes_found_is_refused_by_the_factory(tmp_path: Path) -> None:
    from dali_saliencymix.pipeline import MixConfig

    data = tmp_path / "data"
    for k in range(3):
        put(data / f"c{k}" / "x.jpg", k)
    with pytest.raises(DatasetError, match="has 3 class folders but num_classes is 2"):
        train_pipeline(data, batch_size=2, device_id=None, mix=MixConfig(num_classes=2))
