"""The GPU check scripts' comparison code, run here with the CPU operators and kernels, so that a
GPU session spends its minutes on the GPU rather than on the scripts, and a broken comparison
cannot pass unnoticed there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import check_dali_gpu
import check_saliency_gpu
import numpy as np
import pytest

GPU_DIR = Path(__file__).resolve().parent / "gpu"


def test_dali_check_passes_with_the_cpu_operators(capsys) -> None:
    assert check_dali_gpu.main(["--device", "cpu", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "RESULT: PASS" in out
    rows = [line for line in out.splitlines() if line.startswith("| fine_grained_saliency")]
    compared = [int(row.split("|")[2]) for row in rows]
    assert len(compared) == 2 and min(compared) > 0, out
    assert "| images of two sizes in one batch | True | fn.saliency_mix: input 0 (images)" in out


def test_dali_check_finds_a_wrong_label(monkeypatch, capsys) -> None:
    """A reference that differs in one soft label by one float32 step is reported."""
    import dali_saliencymix.numpy as front

    honest = front.mix

    def off_by_one_step(*args, **kwargs):  # noqa: ANN202
        outputs = list(honest(*args, **kwargs))
        outputs[1] = outputs[1].copy()
        outputs[1][0, 0] = np.nextafter(outputs[1][0, 0], np.float32(2))
        return tuple(outputs)

    monkeypatch.setattr(front, "mix", off_by_one_step)
    assert check_dali_gpu.main(["--device", "cpu", "--quick"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH mix" in out and "RESULT: FAIL" in out


def test_kernel_check_self_test_compares_the_family() -> None:
    path = list(sys.path)
    assert check_saliency_gpu.self_test() == 0
    assert sys.path == path  # spawned processes (the DDP tests) inherit it


def test_run_all_is_valid_bash_and_names_every_check(tmp_path: Path) -> None:
    script = GPU_DIR / "run_all.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    for argv in ([], [str(tmp_path)]):  # no pack folder, or one without the pack: stop at once
        done = subprocess.run(["bash", str(script), *argv], capture_output=True, text=True)
        assert done.returncode == 2 and "expected the folder that dali-lite wrote" in done.stderr
    text = script.read_text()
    checks = ("check_saliency_gpu.py", "check_dali_gpu.py", "bench_feature_mix.py", "memcheck")
    for check in (*checks, "racecheck"):
        assert check in text


@pytest.mark.parametrize("argv", [["--device", "tpu"], ["--bogus"]])
def test_dali_check_refuses_unknown_arguments(argv) -> None:
    with pytest.raises(SystemExit) as exit_info:
        check_dali_gpu.main(argv)
    assert exit_info.value.code == 2
