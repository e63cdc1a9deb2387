"""The CPU kernels and the C API compile for aarch64 (tests/cross_compile_aarch64.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "cross_compile_aarch64.sh"
COMPILERS = [
    "aarch64-linux-gnu-g++",
    "aarch64-linux-gnu-g++-14",
    "aarch64-linux-gnu-g++-13",
    "aarch64-linux-gnu-g++-12",
]


def test_cpu_kernels_and_c_api_cross_compile_for_aarch64(tmp_path) -> None:
    if not os.environ.get("CXX_AARCH64") and not any(shutil.which(c) for c in COMPILERS):
        pytest.skip("no aarch64 cross-compiler (apt-get install g++-aarch64-linux-gnu)")
    done = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=600
    )
    if done.returncode == 77:
        pytest.skip(done.stderr.strip())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "readelf machine: AArch64" in done.stdout
    assert (tmp_path / "libdsm_kernels.so").exists()
