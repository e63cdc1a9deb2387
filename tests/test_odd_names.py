"""Names that used to break the tools (issue 17, items 6, 7, 10): a symbolic link to itself, a
file name that is not UTF-8, a newline in a name. Each is reported per file, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from damaged import good_images
from test_training import load_trainer

from dali_saliencymix.app import cli
from dali_saliencymix.data.check_lists import check_dir as lists_of
from dali_saliencymix.data.check_lists import excluded_by_check
from dali_saliencymix.data.folder import DatasetError, read_file_list, scan_image_folder
from dali_saliencymix.data.shard_writer import write_folder_shards

LATIN1 = b"latin1_\xe9\xff.jpg"  # not UTF-8: Python names it with surrogate escapes
TRAIN = ["--epochs", "1", "--batch-size", "4", "--arch", "tiny", "--cpu", "--crop", "32"]
TRAIN += ["--workers", "1", "--quiet"]


def two_classes(root: Path) -> Path:
    good_images(root / "cat", 3)
    good_images(root / "dog", 3, start=3)
    return root


def with_self_link(root: Path) -> Path:
    os.symlink("self.jpg", root / "dog" / "self.jpg")
    return root / "dog" / "self.jpg"


def with_latin1_name(root: Path, folder: str = "dog", data: bytes | None = None) -> Path:
    target = os.path.join(os.fsencode(root / folder), LATIN1)
    with open(target, "wb") as f:
        f.write(data if data is not None else (root / "cat" / "good0.jpg").read_bytes())
    return Path(os.fsdecode(target))


def test_a_symlink_loop_is_one_rejected_file(tmp_path: Path) -> None:
    root = two_classes(tmp_path / "data")
    loop = with_self_link(root)
    os.symlink("top.jpg", root / "top.jpg")  # a loose loop beside the class folders: ignored
    folder = scan_image_folder(root, strict=False)
    assert [b.path for b in folder.rejected] == [loop]
    assert "Too many levels of symbolic links" in folder.rejected[0].reason
    assert folder.num_files == 6
    with pytest.raises(DatasetError, match="dog/self.jpg: .*symbolic link"):
        scan_image_folder(root)


def test_check_lists_a_symlink_loop_and_the_tools_name_it(tmp_path: Path, capsys) -> None:
    root = two_classes(tmp_path / "data")
    with_self_link(root)
    assert cli.main(["check", str(root), "--threads", "1"]) == 1
    assert excluded_by_check(root) == [root / "dog" / "self.jpg"]
    assert read_file_list(lists_of(root) / "files.txt", root).num_files == 6
    capsys.readouterr()
    out = tmp_path / "grid.png"
    assert cli.main(["preview", str(root), "--out", str(out), "--size", "32"]) == 1
    assert "dog/self.jpg" in capsys.readouterr().err
    assert cli.main(["shards", str(root), str(tmp_path / "shards"), "--shard-size", "4"]) == 1
    assert "dog/self.jpg" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="dog/self.jpg"):
        load_trainer().main([str(root), *TRAIN])


def test_a_name_that_is_not_utf8_is_read_and_listed(tmp_path: Path, capsys) -> None:
    root = two_classes(tmp_path / "data")
    odd = with_latin1_name(root)
    assert cli.main(["check", str(root), "--threads", "1"]) == 0
    lists = lists_of(root)
    raw = (lists / "files.txt").read_bytes()
    assert b"dog/" + LATIN1 + b" 1\n" in raw  # the name's own bytes: DALI opens that file
    clean = read_file_list(lists / "files.txt", root)
    assert odd in clean.files and clean.num_files == 7
    history = load_trainer().main([str(root), *TRAIN])  # DALI reads the file by its bytes
    assert len(history["loss"]) == 1
    history = load_trainer().main([str(root), *TRAIN, "--file-list", str(lists / "files.txt")])
    assert len(history["loss"]) == 1
    capsys.readouterr()
    assert cli.main(["preview", str(root), "--out", str(tmp_path / "g.png"), "--size", "32"]) == 0
    assert (tmp_path / "g.png").is_file()


def test_a_damaged_file_whose_name_is_not_utf8_is_printed_and_listed(
    tmp_path: Path, capsys
) -> None:
    root = two_classes(tmp_path / "data")
    with_latin1_name(root, data=b"not an image")
    assert cli.main(["check", str(root), "--threads", "1"]) == 1
    out = capsys.readouterr().out
    assert "latin1_\\xe9\\xff.jpg" in out  # shown with its bytes escaped
    excluded = (lists_of(root) / "excluded.txt").read_bytes()
    assert excluded.startswith(b"dog/" + LATIN1 + b"\t")
    assert excluded_by_check(root) == [with_latin1_name(root, data=b"not an image")]
    with pytest.raises(SystemExit) as err:
        load_trainer().main([str(root), *TRAIN])
    assert "latin1_\\xe9\\xff.jpg" in str(err.value)


def test_a_newline_in_a_name_stays_on_one_line_of_the_excluded_list(tmp_path: Path) -> None:
    root = two_classes(tmp_path / "data")
    odd = root / "dog" / "new\nline.jpg"
    odd.write_bytes((root / "cat" / "good0.jpg").read_bytes())
    tab = root / "dog" / "back\\slash\tand tab.txt"
    tab.write_text("not an image")
    assert cli.main(["check", str(root), "--threads", "1"]) == 1
    lines = (lists_of(root) / "excluded.txt").read_text().splitlines()
    assert len(lines) == 2, lines
    assert sorted(line.split("\t")[0] for line in lines) == [
        "dog/back\\\\slash\\tand tab.txt",
        "dog/new\\nline.jpg",
    ]
    assert sorted(excluded_by_check(root)) == sorted([odd, tab])


def test_shards_of_a_folder_with_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    root = two_classes(tmp_path / "data")
    with_latin1_name(root)
    tars = write_folder_shards(root, tmp_path / "shards", shard_size=4)
    assert len(tars) == 2
