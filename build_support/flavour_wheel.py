"""Turn the wheel pip built into the prebuilt wheel of one DALI flavour (scripts/build_wheels.sh).

    python build_support/flavour_wheel.py BUILT.whl cuda12|cuda13 OUT_DIR

The built wheel (``dali_saliencymix-V-cp3X-cp3X-linux_x86_64.whl``) holds the package and both
libraries. The libraries are no Python extensions (DALI and ctypes load them), so one wheel
serves every Python: the prebuilt wheel is

- named ``dali-saliencymix-cuda120`` or ``-cuda130``, after its DALI, as DALI's own wheels are;
- tagged ``py3-none-manylinux_2_28_x86_64``, after checking that the libraries need nothing
  newer (build_support/manylinux.py);
- pinned to its DALI (``nvidia-dali-cuda120==2.4.0`` as a plain requirement, not an extra), so
  that no install brings a second DALI;
- refused unless both libraries are there, built with CUDA for the full architecture list and
  against the flavour's DALI.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import manylinux  # noqa: E402

FLAVOURS = {"cuda12": "nvidia-dali-cuda120", "cuda13": "nvidia-dali-cuda130"}
LIBRARIES = ("libdali_saliencymix.so", "libdsm_kernels.so")


class WheelError(RuntimeError):
    """The built wheel cannot become a prebuilt wheel; the message says why."""


def build_info(files: dict[str, bytes]) -> dict[str, str]:
    """The string constants of the wheel's ``dali_saliencymix/_build_info.py``."""
    text = files["dali_saliencymix/_build_info.py"].decode()
    info = dict(re.findall(r'^(\w+) = "([^"]*)"', text, re.M))
    for flag in ("WITH_CUDA", "CUDA_ARCHITECTURES_DEFAULT"):
        info[flag] = str(re.search(rf'^{flag} = "ON"', text, re.M) is not None)
    return info


def check_contents(files: dict[str, bytes], flavour: str) -> None:
    """Refuse a wheel that cannot be the flavour's prebuilt wheel (WheelError says why).

    Both libraries must be there, built with CUDA for the full architecture list, against the
    flavour's DALI, and needing nothing newer than manylinux_2_28.
    """
    missing = [n for n in LIBRARIES if f"dali_saliencymix/lib/{n}" not in files]
    if missing:
        raise WheelError(f"the wheel lacks {missing}")
    info = build_info(files)
    if info["WITH_CUDA"] != "True":
        raise WheelError("the libraries were built without CUDA kernels")
    if info["DALI_DISTRIBUTION"] != FLAVOURS[flavour]:
        raise WheelError(f"built against {info['DALI_DISTRIBUTION']}, not {FLAVOURS[flavour]}")
    if info["CUDA_ARCHITECTURES_DEFAULT"] != "True":
        raise WheelError(
            f"built for the architectures {info['CUDA_ARCHITECTURES']} that were asked for, not "
            f"the full default list of nvcc {info['CUDA_TOOLKIT_VERSION']} (leave "
            "CMAKE_CUDA_ARCHITECTURES and CUDAARCHS unset)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name in LIBRARIES:
            path = Path(tmp) / name
            path.write_bytes(files[f"dali_saliencymix/lib/{name}"])
            paths.append(path)
        problems = manylinux.check(paths)
    if problems:
        raise WheelError("; ".join(problems))


def metadata_for(text: str, flavour: str) -> str:
    """METADATA with the flavour's name and its DALI as a plain requirement (no DALI extras)."""
    dali = FLAVOURS[flavour]
    lines = []
    for line in text.splitlines():
        if line.startswith("Name: "):
            line = f"Name: dali-saliencymix-{dali.removeprefix('nvidia-dali-')}"
        elif line.startswith("Provides-Extra: cuda1") or (
            line.startswith("Requires-Dist: nvidia-dali-") and "extra ==" in line
        ):
            continue
        lines.append(line)
    at = next(i for i, line in enumerate(lines) if line.startswith("Requires-Dist:"))
    lines.insert(at, f"Requires-Dist: {dali}==2.4.0")
    return "\n".join(lines) + "\n"


def wheel_for(text: str) -> str:
    """WHEEL with the one tag of the prebuilt wheel."""
    lines = [line for line in text.splitlines() if line and not line.startswith("Tag: ")]
    lines.append(f"Tag: py3-none-{manylinux.TAG}")
    return "\n".join(lines) + "\n"


def record_line(name: str, data: bytes) -> str:
    """A RECORD line: the file's name, sha256 (urlsafe base64) and size."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def flavour_wheel(built: Path, flavour: str, out_dir: Path) -> Path:
    """Write the prebuilt wheel of `flavour` from the wheel pip built; returns its path."""
    if flavour not in FLAVOURS:
        raise WheelError(f"flavour must be one of {sorted(FLAVOURS)}, got {flavour!r}")
    with zipfile.ZipFile(built) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    check_contents(files, flavour)
    old_info = next(n.split("/")[0] for n in files if n.endswith(".dist-info/METADATA"))
    version = old_info.removesuffix(".dist-info").split("-", 1)[1]
    project = "dali_saliencymix_" + FLAVOURS[flavour].removeprefix("nvidia-dali-")
    new_info = f"{project}-{version}.dist-info"
    renamed: dict[str, bytes] = {}
    for name, data in files.items():
        if name == f"{old_info}/RECORD":
            continue
        if name == f"{old_info}/METADATA":
            data = metadata_for(data.decode(), flavour).encode()
        elif name == f"{old_info}/WHEEL":
            data = wheel_for(data.decode()).encode()
        renamed[name.replace(old_info, new_info, 1)] = data
    record = [record_line(n, d) for n, d in sorted(renamed.items())] + [f"{new_info}/RECORD,,"]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{project}-{version}-py3-none-{manylinux.TAG}.whl"
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(renamed.items()):
            zf.writestr(name, data)
        zf.writestr(f"{new_info}/RECORD", "\n".join(record) + "\n")
    partial.replace(target)
    return target


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: flavour_wheel.py BUILT.whl cuda12|cuda13 OUT_DIR")
    try:
        print(flavour_wheel(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])))
    except WheelError as err:
        sys.exit(f"flavour_wheel: {sys.argv[1]}: {err}")
