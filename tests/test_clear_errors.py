"""Errors that used to be unclear (issue 17, item 10): each is one line naming the flag or the
folder, with exit code 2 when the command line is at fault."""

from __future__ import annotations

from pathlib import Path

import pytest
from damaged import good_images
from test_shards_safety import foreign
from test_training import load_trainer

from dali_saliencymix.app import cli
from dali_saliencymix.data import DatasetError
from dali_saliencymix.pipeline import val_pipeline


def two_classes(root: Path) -> Path:
    good_images(root / "cat", 2)
    good_images(root / "dog", 2, start=2)
    return root


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    code = cli.main(argv)
    return code, " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize("command", ["preview", "demo"])
def test_an_output_name_without_a_picture_extension_is_a_usage_error(
    command, tmp_path: Path, capsys
) -> None:
    data = two_classes(tmp_path / "data")
    argv = [command, "--out", str(tmp_path / "grid"), "--device", "cpu"]
    argv += [str(data)] if command == "preview" else []
    code, err = run_cli(argv, capsys)
    assert code == 2 and f"--out {tmp_path / 'grid'}: expected a picture file name" in err, err
    assert "got no extension" in err
    assert not (tmp_path / "grid").exists()


@pytest.mark.parametrize("command", ["preview", "demo"])
def test_a_negative_alpha_names_the_flag(command, tmp_path: Path, capsys) -> None:
    data = two_classes(tmp_path / "data")
    argv = [command, "--out", str(tmp_path / "g.png"), "--cutmix", "-1", "--device", "cpu"]
    argv += [str(data)] if command == "preview" else []
    code, err = run_cli(argv, capsys)
    assert code == 2 and "--cutmix must be >= 0 (0 = off), got -1.0" in err, err


def test_preview_and_check_of_a_shard_folder_say_what_it_is(tmp_path: Path, capsys) -> None:
    shards = foreign(tmp_path / "shards", {})
    for argv in (
        ["preview", str(shards), "--out", str(tmp_path / "g.png")],
        ["check", str(shards)],
    ):
        code, err = run_cli(argv, capsys)
        assert code == 2, err
        assert f"{shards} is a folder of WebDataset shards; {argv[0]} reads a class folder" in err
        assert "loose files" not in err


def test_check_says_when_it_cannot_write_its_lists_before_decoding(tmp_path: Path, capsys) -> None:
    data = two_classes(tmp_path / "data")
    (tmp_path / "file").write_text("a file, not a folder")
    out = tmp_path / "file" / "lists"
    code = cli.main(["check", str(data), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "cannot write the lists into" in captured.err and "give --out DIR" in captured.err
    assert "decoding" not in captured.out  # refused before decoding anything
    code, err = run_cli(["check", str(tmp_path / "missing")], capsys)
    assert code == 2 and "does not exist" in err


def test_foreign_validation_shards_take_num_classes(tmp_path: Path) -> None:
    shards = foreign(tmp_path / "shards", {})
    with pytest.raises(DatasetError, match="give num_classes"):
        val_pipeline(shards, batch_size=4, num_threads=1, device_id=None, crop=32)
    pipe = val_pipeline(shards, num_classes=2, batch_size=4, num_threads=1, device_id=None, crop=32)
    assert pipe.pipeline.reader_meta("Reader")["epoch_size"] == 8


def test_a_file_list_without_class_names_says_so_for_a_validation_folder(tmp_path: Path) -> None:
    data = two_classes(tmp_path / "data")
    listed = tmp_path / "lists" / "train.txt"
    listed.parent.mkdir()
    listed.write_text("cat/good0.jpg 0\ndog/good0.jpg 1\ncat/good1.jpg 0\ndog/good1.jpg 1\n")
    argv = [str(data), "--file-list", str(listed), "--val-dir", str(data), "--epochs", "1"]
    argv += ["--batch-size", "2", "--arch", "tiny", "--cpu", "--crop", "32", "--quiet"]
    with pytest.raises(SystemExit, match="training classes have no names.*classes.txt"):
        load_trainer().main(argv)
    (listed.parent / "classes.txt").write_text("cat\ndog\n")
    assert len(load_trainer().main(argv)["val_top1"]) == 1
