"""`dali-saliencymix check`: it flags exactly the files DALI fails on; training skips them or
names them when they fail mid-epoch."""

from __future__ import annotations

from pathlib import Path

import pytest
from damaged import damaged_files, early_truncated_jpeg, good_images
from nvidia.dali import fn, pipeline_def, types
from test_training import load_trainer

from dali_saliencymix.app import cli
from dali_saliencymix.data.decode_check import (
    DataError,
    check_dataset,
    decode_failures,
    explain_failure,
)
from dali_saliencymix.data.folder import DatasetError, read_file_list, scan_image_folder
from dali_saliencymix.pipeline import MixConfig, train_pipeline
from dali_saliencymix.torch import SaliencyMixIterator

ROOT = Path(__file__).resolve().parents[1]
# The decoder's (or the scan's) words each reason must hold.
REASONS = {
    "truncated": "Premature end of JPEG data",
    "truncated_end": "Premature end of JPEG data",
    "garbage": "bad code stream",
    "fake_tiff": "bad code stream",
    "zero_bytes": "empty file (0 bytes)",
    "text": "not an image by content",
    "dangling_link": "broken symbolic link",
}


def class_files(root: Path) -> list[Path]:
    return sorted(p for c in ("cat", "dog") for p in (root / c).iterdir())


def dali_error(path: Path) -> str | None:
    """DALI's error reading and fully decoding one file (CPU), or None when it decodes."""

    @pipeline_def(batch_size=1, num_threads=1, device_id=None, seed=0)
    def pipe():
        encoded, _ = fn.readers.file(files=[str(path)], labels=[0])
        return fn.decoders.image(encoded, device="cpu", output_type=types.RGB)

    try:
        p = pipe()
        p.build()
        p.run()
    except RuntimeError as err:
        return str(err)
    return None


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("check") / "data"
    good_images(root / "cat", 5)
    good_images(root / "dog", 4, start=5)
    return root, damaged_files(root / "dog")


def test_check_flags_exactly_the_files_dali_cannot_decode(data, capfd) -> None:
    root, damaged = data
    report = check_dataset(root, num_threads=2, batch_size=4)
    assert "Premature end" not in capfd.readouterr().err  # the decoder's log went to the report
    flagged = {b.path: b.reason for b in report.bad}
    assert set(flagged) == set(damaged.values())
    for name, path in damaged.items():
        assert REASONS[name] in flagged[path], (name, flagged[path])
    # DALI itself fails on every flagged file and decodes every other one.
    for path in class_files(root):
        error = dali_error(path)
        assert (error is not None) == (path in flagged), (path, error)
    # The lists: the clean one (what the trainer reads), the class names, what was left out.
    files = report.lists["files"].read_text().splitlines()
    assert len(files) == 9 and "dog/good0.jpg 1" in files and "cat/good0.jpg 0" in files
    assert report.lists["classes"].read_text() == "cat\ndog\n"
    excluded = report.lists["excluded"].read_text().splitlines()
    assert sorted(line.split("\t")[0] for line in excluded) == sorted(
        f"dog/{p.name}" for p in damaged.values()
    )
    assert report.lists["files"].parent == root.parent / "data.dali-saliencymix-check"
    assert report.files_per_second > 0


def test_decoding_alone_flags_every_damaged_file(data) -> None:
    """Without the scan's quick checks (which only sample large datasets), decoding finds all."""
    root, damaged = data
    bad = {b.path: b.reason for b in decode_failures(class_files(root), batch_size=3)}
    assert set(bad) == set(damaged.values())
    assert "Premature end of JPEG data" in bad[damaged["truncated"]]
    assert "empty file (0 bytes)" in bad[damaged["zero_bytes"]]
    assert "No such file or directory" in bad[damaged["dangling_link"]]
    assert "unsupported format" in bad[damaged["text"]]
    assert "cannot identify image file" in bad[damaged["text"]]  # Pillow's view, DALI says less


def test_check_command_prints_each_file_and_writes_the_lists(data, tmp_path, capsys) -> None:
    root, damaged = data
    out = tmp_path / "lists"
    assert cli.main(["check", str(root), "--out", str(out), "--threads", "2"]) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert "checked 16 files of 2 classes (" in text and "files/s" in text
    # The progress bar counts what is decoded; the line says what the scan refused first.
    assert "sent to the decoder, " in text and "refused by the scan)" in text
    for path in damaged.values():
        assert f"dog/{path.name}" in text
    assert "--skip-bad" in text
    clean = read_file_list(out / "files.txt", root)
    assert clean.num_files == 9 and clean.classes == ["cat", "dog"]


def test_trainer_skips_what_the_check_found(data) -> None:
    root, _ = data
    trainer = load_trainer()
    common = [str(root), "--epochs", "1", "--batch-size", "4", "--arch", "tiny", "--cpu"]
    common += ["--crop", "32", "--workers", "1", "--quiet"]
    with pytest.raises(SystemExit, match="broken symbolic link.*dali-saliencymix check"):
        trainer.main(common)
    check_dataset(root, num_threads=2)
    history = trainer.main([*common, "--skip-bad"])
    assert len(history["loss"]) == 1
    history = trainer.main(
        [*common, "--file-list", str(root.parent / "data.dali-saliencymix-check/files.txt")]
    )
    assert len(history["loss"]) == 1


def test_a_file_failing_mid_epoch_is_named(tmp_path: Path) -> None:
    root = tmp_path / "data"
    good_images(root / "cat", 3)
    good_images(root / "dog", 3, start=3)
    bad = early_truncated_jpeg(root / "dog" / "cut.jpg")
    scan_image_folder(root)  # the quick scan lets it through: its first bytes are a JPEG's
    pipe = train_pipeline(
        root, batch_size=4, num_threads=1, device_id=None, crop=32, mix=MixConfig(num_classes=2)
    )
    with pytest.raises(DataError) as err:
        for _ in SaliencyMixIterator(pipe):
            pass
    message = str(err.value)
    assert str(bad) in message and "decoding failed" in message and "--skip-bad" in message
    # The trainer stops with the same message, not DALI's traceback.
    with pytest.raises(SystemExit, match="cut.jpg: decoding failed"):
        load_trainer().main(
            [str(root), "--epochs", "1", "--batch-size", "4", "--arch", "tiny", "--cpu"]
            + ["--crop", "32", "--workers", "1", "--quiet"]
        )


def test_a_file_dali_does_not_name_is_found_by_decoding_the_dataset(tmp_path: Path) -> None:
    root = tmp_path / "data"
    good_images(root / "cat", 3)
    damaged = damaged_files(tmp_path / "spare")
    (root / "dog").mkdir()
    (root / "dog" / "garbage.jpg").write_bytes(damaged["garbage"].read_bytes())
    pipe = train_pipeline(root, batch_size=2, num_threads=1, device_id=None, crop=32, mix=None)
    with pytest.raises(DataError) as err:
        for _ in range(3):
            pipe.run()
    message = str(err.value)
    assert "DALI cannot decode 1 file(s) of the dataset" in message
    assert f"{root / 'dog' / 'garbage.jpg'}: nvImageCodec: bad code stream" in message


def test_errors_that_are_not_about_files_are_left_alone() -> None:
    assert explain_failure(RuntimeError("CUDA out of memory"), []) is None


def read_labels(root: Path) -> dict[str, int]:
    """The labels a plain ``fn.readers.file(file_root=root)`` gives (one batch of 4), by
    class folder and file name."""

    @pipeline_def(batch_size=4, num_threads=1, device_id=None)
    def pipe():  # noqa: ANN202
        jpegs, labels = fn.readers.file(file_root=str(root), name="R")
        return jpegs.source_info(), labels

    p = pipe()
    p.build()
    names, labels = p.run()
    return {
        "/".join(Path(str(names.at(i).tobytes(), "utf-8")).parts[-2:]): int(labels.at(i)[0])
        for i in range(len(labels))
    }


def test_the_lists_leave_a_plain_dali_reader_s_labels_alone(tmp_path: Path, capsys) -> None:
    """DALI's file reader counts every sub-folder as a class, hidden ones too: the check's lists
    go beside the data folder, so the cat/dog ids stay 0/1. A leftover folder of lists inside
    (versions before 0.2.0) is named, with what it does."""
    root = tmp_path / "data"
    good_images(root / "cat", 2)
    good_images(root / "dog", 2, start=2)
    before = read_labels(root)
    assert sorted(before.values()) == [0, 0, 1, 1]
    assert cli.main(["check", str(root)]) == 0
    assert (tmp_path / "data.dali-saliencymix-check" / "files.txt").is_file()
    assert read_labels(root) == before
    (root / ".dali-saliencymix-check").mkdir()  # what an earlier version left
    assert sorted(read_labels(root).values()) == [1, 1, 2, 2]  # DALI's reader, shifted
    capsys.readouterr()
    assert cli.main(["check", str(root)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "holds lists from a version before 0.2.0; remove it" in text
    assert "shifts every class id by one" in text
    assert "hidden folders" not in text  # that one is named once, above
    (root / ".ipynb_checkpoints").mkdir()
    assert cli.main(["check", str(root)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"note: hidden folders in {root} (.ipynb_checkpoints) are skipped here" in text


def test_the_lists_folder_is_beside_the_data_folder_however_it_is_named(
    tmp_path: Path, monkeypatch
) -> None:
    from dali_saliencymix.data.check_lists import check_dir

    monkeypatch.chdir(tmp_path)
    beside = tmp_path / "train.dali-saliencymix-check"
    for given in ("train", "train/", "./train", str(tmp_path / "train"), "x/../train"):
        assert check_dir(given) == beside, given
    monkeypatch.chdir(tmp_path / "..")
    assert check_dir(".").parent == tmp_path.parent.parent
    with pytest.raises(DatasetError, match="filesystem root has no folder beside it"):
        check_dir("/")


def test_the_hint_after_a_check_trains_as_printed(data, capsys) -> None:
    """`check` ends with the command that trains without the files it excluded; that command,
    `dali-saliencymix train DATA --skip-bad`, trains (the trainer installed with the package)."""
    root, _ = data
    assert cli.main(["check", str(root), "--threads", "2"]) == 1
    text = " ".join(capsys.readouterr().out.split())
    hint = f"dali-saliencymix train {root} --skip-bad"
    assert hint in text, text
    tiny = ["--epochs", "1", "--batch-size", "4", "--arch", "tiny", "--cpu", "--crop", "32"]
    assert cli.main([*hint.split()[1:], *tiny, "--workers", "1", "--quiet"]) == 0
    with pytest.raises(SystemExit) as usage:
        cli.main(["train", str(root), "--epochs", "0"])
    assert usage.value.code == 2
    assert "usage: dali-saliencymix train" in capsys.readouterr().err
    with pytest.raises(SystemExit) as failed:  # without --skip-bad: the data's error, one line
        cli.main(["train", str(root), *tiny, "--workers", "1", "--quiet"])
    assert failed.value.code == 1
    assert capsys.readouterr().err.startswith(f"dali-saliencymix train: {root}: ")
