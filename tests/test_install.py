"""How the package installs: the libraries ask only for what manylinux_2_28 systems have.

The wheel tag manylinux_2_28 promises glibc 2.28 and GCC 8's libstdc++ (RHEL 8 and newer):
every symbol version the compiled libraries need must exist there, however new the build
system is (plugin_src/common/manylinux_compat.cc; build_support/manylinux.py checks)."""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dali_saliencymix import __version__
from dali_saliencymix._native import libs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "build_support"))
import manylinux  # noqa: E402


@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs objdump (binutils)")
@pytest.mark.parametrize("name", [libs.KERNELS_NAME, libs.PLUGIN_NAME])
def test_libraries_need_only_what_manylinux_2_28_has(name) -> None:
    path = libs.library_path(name)
    needs = manylinux.version_needs(path)
    assert "GLIBC_2.2.5" in needs  # the parsing sees the libraries' needs
    assert manylinux.problems_of(path) == [], f"{path} does not fit manylinux_2_28"
    if libs.build_info()["with_cuda"]:  # the CUDA runtime calls pthread_* and dl*
        assert {"libpthread.so.0", "libdl.so.2"} <= manylinux.needed(path)


def test_the_version_check_finds_newer_symbols() -> None:
    found = manylinux.too_new({"GLIBC_2.34": ["pthread_create"], "GLIBC_2.17": ["x"]})
    assert found == {"GLIBC_2.34": ["pthread_create"]}
    assert manylinux.too_new({"GLIBCXX_3.4.29": ["a"], "CXXABI_1.3.9": ["b"]}) == {
        "GLIBCXX_3.4.29": ["a"]
    }


# ---- A wheel built with no CUDA toolkit, installed where there is no compiler at all ---------
# Run as root with unshare (as CI runs): a private mount namespace hides the toolkit (a tmpfs
# over its folder) and the compilers (/dev/null over each) from the commands inside it only.
NEEDS_ROOT = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare (CI has both) to hide the CUDA toolkit and the compilers",
)
COMPILERS = re.compile(
    r"^(nvcc|gcc|g\+\+|cc|c\+\+|clang|clang\+\+|x86_64-linux-gnu-g(cc|\+\+))(-\d+)?$"
)


def toolkit_paths() -> list[str]:
    """The CUDA toolkit folders and every nvcc on PATH (wrappers included)."""
    found = {str(Path(p).resolve()) for p in glob.glob("/usr/local/cuda*") if Path(p).is_dir()}
    return sorted(found | set(programs(re.compile(r"^nvcc$"))))


def programs(pattern: re.Pattern) -> list[str]:
    """Every file on PATH whose name matches `pattern`."""
    found = set()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if Path(folder).is_dir():
            found |= {str(p) for p in Path(folder).iterdir() if pattern.match(p.name)}
    return sorted(found)


def run_hidden(script: str, hide: list[str], timeout: float) -> subprocess.CompletedProcess:
    """`script` (bash) in a mount namespace where each path of `hide` is empty."""
    mounts = [
        f"mount -t tmpfs tmpfs {shlex.quote(p)}"
        if Path(p).is_dir()
        else f"mount --bind /dev/null {shlex.quote(p)}"
        for p in hide
    ]
    dropped = ("CUDA_HOME", "CUDA_PATH", "CUDACXX", "PYTHONPATH", "DSM_LIB_DIR")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        ["unshare", "-m", "bash", "-c", " && ".join(["set -e", *mounts, script])],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


# The default architectures of nvcc 13 (cmake/cuda_architectures.cmake): PyPI's toolchain.
NVCC13_ARCHS = "75-real;80-real;86-real;89-real;90-real;100-real;110-real;120-real;120-virtual"

# The README's command, run verbatim (in the repository, writing its dist/).
BUILD_WHEEL = "bash scripts/build_wheels.sh cuda12"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The cuda12 wheel of scripts/build_wheels.sh, built with the CUDA toolkit hidden."""
    built = ROOT / "dist" / f"dali_saliencymix_cuda120-{__version__}-py3-none-{manylinux.TAG}.whl"
    built.unlink(missing_ok=True)
    done = run_hidden(
        f"cd {shlex.quote(str(ROOT))} && ! nvcc --version > /dev/null 2>&1 && {BUILD_WHEEL}",
        toolkit_paths(),
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "with the CUDA toolchain from PyPI" in done.stdout
    copy = tmp_path_factory.mktemp("dist") / built.name
    shutil.copy(built, copy)
    return copy


@NEEDS_ROOT
def test_the_wheel_is_one_for_every_python_pinned_to_its_dali(wheel: Path) -> None:
    assert f"\n    {BUILD_WHEEL}\n" in (ROOT / "README.md").read_text()  # the command shown
    assert (
        wheel.name == f"dali_saliencymix_cuda120-{__version__}-py3-none-manylinux_2_28_x86_64.whl"
    )
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(info).decode()
        built = zf.read("dali_saliencymix/_build_info.py").decode()
    assert {
        "dali_saliencymix/lib/libdali_saliencymix.so",
        "dali_saliencymix/lib/libdsm_kernels.so",
    } <= set(names)
    requires = [
        line for line in metadata.splitlines() if line.startswith("Requires-Dist: nvidia-dali")
    ]
    assert requires == ["Requires-Dist: nvidia-dali-cuda120==2.4.0"]
    assert 'CUDA_COMPILER_SOURCE = "pypi"' in built
    assert f'CUDA_ARCHITECTURES = "{NVCC13_ARCHS}"' in built


CHECK_INSTALLED = """
import numpy as np, cv2
from PIL import Image
import dali_saliencymix
from nvidia.dali import fn, pipeline_def, types
from dali_saliencymix.data import PHOTO_DIR

info = dali_saliencymix.build_info()
assert info["with_cuda"] and info["cuda_compiler_source"] == "pypi", info
image = np.asarray(Image.open(sorted(PHOTO_DIR.glob("*/*.jpg"))[0]).convert("RGB"))
saliency, peak = dali_saliencymix.saliency_map(image)
bgr = image[..., ::-1].copy()
ok, reference = cv2.saliency.StaticSaliencyFineGrained_create().computeSaliency(bgr)
assert ok and np.array_equal(saliency, (reference * 255).astype(np.uint8))

@pipeline_def(batch_size=2, num_threads=1, device_id=None, seed=1)
def pipe():
    images = fn.external_source(lambda: [image, image[::-1].copy()], batch=True, layout="HWC")
    ids = [np.array([0], np.int32), np.array([1], np.int32)]
    labels = fn.external_source(lambda: ids, batch=True)
    lam = fn.random.uniform(range=[0.3, 0.7])
    apply = fn.random.coin_flip(probability=1.0, dtype=types.INT32)
    return tuple(fn.saliency_mix(images, labels, num_classes=2, lam=lam, apply=apply))

p = pipe()
p.build()
mixed, soft = p.run()
assert np.allclose(np.array(soft.as_tensor()).sum(1), 1)
print("INSTALLED WHEEL OK", dali_saliencymix.__version__)
"""


@NEEDS_ROOT
def test_the_wheel_installs_and_runs_where_there_is_no_compiler(wheel: Path, tmp_path) -> None:
    hide = sorted(set(toolkit_paths()) | set(programs(COMPILERS)))
    assert any(Path(p).name in ("g++", "c++") for p in hide)
    venv = tmp_path / "venv"
    (tmp_path / "check.py").write_text(CHECK_INSTALLED)
    done = run_hidden(
        f"cd {shlex.quote(str(tmp_path))} && ! g++ --version > /dev/null 2>&1 && "
        f"python3 -m venv {venv} && {venv}/bin/python -m pip install --quiet torch==2.13.0 "
        f"opencv-contrib-python-headless {shlex.quote(str(wheel))} && "
        f"{venv}/bin/python check.py",
        hide,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "INSTALLED WHEEL OK" in done.stdout
