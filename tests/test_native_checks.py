"""C++ checks that need no GPU, compiled and run natively: the pure functions of
plugin_src/checks (tests/native/*.cc), built by g++ with the project's C++ standard and warnings.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CXX = shutil.which("g++")


def build_and_run(source: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """Compiles one test program (warnings are errors) and runs it."""
    binary = tmp_path / source.stem
    flags = ["-std=c++20", "-O2", "-Wall", "-Wextra", "-Werror"]
    built = subprocess.run(
        [CXX, *flags, str(source), "-o", str(binary)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    return subprocess.run([str(binary)], capture_output=True, text=True, check=False)


@pytest.mark.skipif(CXX is None, reason="needs g++ to compile tests/native (apt-get install g++)")
def test_driver_version_rule(tmp_path: Path) -> None:
    # A 13.1 build runs on a 13.0 driver (minor-version compatibility), a 12.4 build on a 13.0
    # driver; a 13.0 build is refused on a 12.9 driver, with the message naming both.
    done = build_and_run(ROOT / "tests" / "native" / "cuda_version_test.cc", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all CUDA version checks hold" in done.stdout
