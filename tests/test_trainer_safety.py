"""The trainer loses nothing and trains on nothing wrong (issue 17, items 1, 2, 5, 9): checkpoints
written through a temporary file, one writer per --save, a resume that checks the data and the
mixing options, numbers checked, one-line errors with exit codes 2 (usage), 1 and 130 (Ctrl-C)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY_TRAINER, run_python
from test_training import contrast_dataset, load_trainer

from dali_saliencymix.app.train.checkpoint import lock_path

COMMON = [*TINY_TRAINER, "--quiet", "--warmup-epochs", "0"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return contrast_dataset(tmp_path / "data", per_class=4)


def run(argv: list[str], capsys) -> tuple[int, str]:
    """(exit code, stderr) of the trainer; 0 when it returns."""
    try:
        load_trainer().main(argv)
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 1
        return code, capsys.readouterr().err
    return 0, capsys.readouterr().err


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--cutmix", "-1"),
        ("--lr", "nan"),
        ("--lr", "-1"),
        ("--lr", "0"),
        ("--weight-decay", "nan"),
        ("--weight-decay", "-0.1"),
        ("--momentum", "inf"),
        ("--epochs", "0"),
        ("--epochs", "-1"),
        ("--warmup-epochs", "-1"),
        ("--batch-size", "0"),
        ("--workers", "0"),
        ("--crop", "0"),
        ("--seed", "-1"),
    ],
)
def test_bad_numbers_are_usage_errors_naming_the_flag(data, flag, value, capsys) -> None:
    code, err = run([str(data), *COMMON, "--epochs", "1", flag, value], capsys)
    assert code == 2, err
    last = err.strip().splitlines()[-1]
    assert flag in last and "Traceback" not in err, err


def test_an_interrupted_save_leaves_the_last_checkpoint(data, tmp_path: Path) -> None:
    """A SIGKILL halfway through the epoch-2 save: the epoch-1 checkpoint is still there, whole.
    The lock left by the killed run is reported; once removed, the run resumes."""
    save = tmp_path / "ckpt.pt"
    argv = [str(data), *COMMON, "--epochs", "2", "--save", str(save)]
    done = run_python(KILLED_IN_SAVE.format(signal="SIGKILL"), *argv, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    state = torch.load(save, weights_only=False)
    assert state["epoch"] == 1
    trainer = load_trainer()
    with pytest.raises(SystemExit, match="no longer running.*remove it"):
        trainer.main([*argv, "--resume", str(save)])
    lock_path(str(save)).unlink()
    history = trainer.main([*argv, "--resume", str(save)])
    assert len(history["loss"]) == 1
    assert torch.load(save, weights_only=False)["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt", "data"]  # no temp, no lock


def test_ctrl_c_during_a_save_exits_130_with_one_line(data, tmp_path: Path) -> None:
    save = tmp_path / "ckpt.pt"
    argv = [str(data), *COMMON, "--epochs", "2", "--save", str(save)]
    done = run_python(KILLED_IN_SAVE.format(signal="SIGINT"), *argv, timeout=120)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == ["train_imagenet: interrupted (Ctrl-C)"]
    assert torch.load(save, weights_only=False)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt", "data"]


# A trainer whose second checkpoint save writes part of the file, then gets `signal`.
KILLED_IN_SAVE = """
import os, signal, sys
import torch
real_save, saves = torch.save, []

def save(obj, f, *args, **kwargs):
    saves.append(f)
    if len(saves) == 2:
        with open(f, "wb") as out:
            out.write(b"PK" + bytes(1000))
        os.kill(os.getpid(), signal.{signal})
    return real_save(obj, f, *args, **kwargs)

torch.save = save
from dali_saliencymix.app.train import main
sys.exit(main(sys.argv[1:]) and 0)
"""


def test_a_second_run_saving_to_the_same_file_is_refused(data, tmp_path: Path, capsys) -> None:
    save = tmp_path / "ckpt_{epoch}.pt"
    lock = lock_path(str(save))
    lock.write_text(f"{os.getpid()} {os.uname().nodename}\n")  # a live writer: this process
    code, err = run([str(data), *COMMON, "--epochs", "1", "--save", str(save)], capsys)
    assert code == 1 and f"being written by process {os.getpid()}" in err, err
    assert not list(tmp_path.glob("ckpt_*.pt"))
    lock.unlink()


@pytest.fixture
def saved(data: Path, tmp_path: Path) -> tuple[list[str], Path]:
    """A one-epoch CutMix run saved to ckpt.pt: (its arguments, the checkpoint)."""
    save = tmp_path / "ckpt.pt"
    argv = [str(data), *COMMON, "--cutmix", "1.0"]
    load_trainer().main([*argv, "--epochs", "1", "--save", str(save)])
    return argv, save


def test_a_resume_on_other_files_is_refused(saved, data: Path, capsys) -> None:
    argv, save = saved
    resume = [*argv, "--epochs", "2", "--resume", str(save)]
    extra = data / "class1" / "extra.jpg"
    shutil.copy(data / "class1" / "0.jpg", extra)
    code, err = run(resume, capsys)
    assert code == 2 and "saved after training on 8 files" in err and "has 9" in err, err
    extra.unlink()
    (data / "class1" / "0.jpg").rename(data / "class1" / "renamed.jpg")
    code, err = run(resume, capsys)
    assert code == 2 and "not the same files" in err, err
    (data / "class1" / "renamed.jpg").rename(data / "class1" / "0.jpg")
    assert len(load_trainer().main(resume)["loss"]) == 1  # the same files again: resumes


def test_a_resume_with_other_mixing_options_is_one_line(saved, capsys) -> None:
    argv, save = saved
    code, err = run([*argv, "--epochs", "2", "--resume", str(save), "--mixup", "0.8"], capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "--mixup 0.0 (now 0.8)" in err, err


def test_a_resume_of_a_finished_run_says_so(saved, capsys) -> None:
    argv, save = saved
    code, err = run([*argv, "--epochs", "1", "--resume", str(save)], capsys)
    assert code == 2 and "already trained 1 epoch" in err and "--epochs" in err, err


def test_a_resume_of_a_missing_or_foreign_file_is_one_line(data, tmp_path: Path, capsys) -> None:
    argv = [str(data), *COMMON, "--epochs", "1", "--resume"]
    code, err = run([*argv, str(tmp_path / "none.pt")], capsys)
    assert code == 2 and "none.pt does not exist" in err, err
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    code, err = run([*argv, str(text)], capsys)
    assert code == 2 and "notes.txt is not a checkpoint" in err and "Traceback" not in err, err
    weights = tmp_path / "weights.pt"
    torch.save({"conv.weight": torch.zeros(1)}, weights)
    code, err = run([*argv, str(weights)], capsys)
    assert code == 2 and "weights.pt is not a checkpoint" in err, err


def test_ctrl_c_in_training_exits_130(data, tmp_path: Path) -> None:
    """SIGINT to a real trainer process while it trains: one line, exit code 130."""
    code = (
        "import os, signal, sys\n"
        "from dali_saliencymix.app.train import loop, main\n"
        "step = loop.Run.step\n"
        "def interrupted(self, *a):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return step(self, *a)\n"
        "loop.Run.step = interrupted\n"
        "main(sys.argv[1:])\n"
    )
    done = subprocess.run(  # outside the source tree: the installed package is imported
        [sys.executable, "-c", code, str(data), *COMMON, "--epochs", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == ["train_imagenet: interrupted (Ctrl-C)"]


def test_a_save_path_that_cannot_be_written_is_refused_before_training(
    data, tmp_path: Path, capsys
) -> None:
    (tmp_path / "file").write_text("not a folder")
    save = tmp_path / "file" / "ckpt.pt"
    code, err = run([str(data), *COMMON, "--epochs", "1", "--save", str(save)], capsys)
    assert code == 2 and f"--save {save}: cannot write in" in err, err


def test_a_failing_save_keeps_the_former_checkpoint(
    data, tmp_path: Path, monkeypatch, capsys
) -> None:
    """A disk that fills up during the second save (torch's writer raises RuntimeError)."""
    real, calls = torch.save, []

    def full(obj, f, *args, **kwargs):
        calls.append(f)
        if len(calls) == 2:
            Path(f).write_bytes(b"PK" + bytes(100))
            raise RuntimeError("[enforce fail at inline_container.cc] . unexpected pos 64")
        return real(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full)
    save = tmp_path / "ckpt.pt"
    code, err = run([str(data), *COMMON, "--epochs", "2", "--save", str(save)], capsys)
    assert code == 1 and "the former checkpoint is kept" in err, err
    monkeypatch.undo()
    assert torch.load(save, weights_only=False)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt", "data"]
