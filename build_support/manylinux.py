"""What a compiled library asks of the system, against what manylinux_2_28 systems have.

The wheel tag manylinux_2_28 promises glibc 2.28 and GCC 8's libstdc++ (RHEL 8 and newer). The
libraries are built on a newer system; ``plugin_src/common/manylinux_compat.cc`` keeps them
within those versions. :func:`problems_of` checks a library: no symbol version newer than
manylinux_2_28's (:func:`too_new`), libpthread, libdl and librt named as dependencies where their
functions are called (they live there before glibc 2.34), and no compatibility definition
exported.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

TAG = "manylinux_2_28_x86_64"
# The newest symbol versions of manylinux_2_28 (glibc 2.28, GCC 8.5's libstdc++).
LIMITS = {"GLIBC": (2, 28), "GLIBCXX": (3, 4, 25), "CXXABI": (1, 3, 11)}
_NEED = re.compile(r"\*UND\*\s+\S+\s+\(?((GLIBC|GLIBCXX|CXXABI)_[\d.]+)\)?\s+(\S+)$")


def version_needs(path: str | Path) -> dict[str, list[str]]:
    """The undefined symbols of a shared library per symbol version (objdump -T)."""
    text = subprocess.run(
        ["objdump", "-T", str(path)], capture_output=True, text=True, check=True
    ).stdout
    needs: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _NEED.search(line)
        if match:
            needs.setdefault(match.group(1), []).append(match.group(3))
    return needs


def too_new(needs: dict[str, list[str]]) -> dict[str, list[str]]:
    """The versions (with up to five of their symbols) newer than manylinux_2_28 allows."""
    found = {}
    for version, symbols in needs.items():
        family, _, number = version.partition("_")
        if tuple(int(p) for p in number.split(".")) > LIMITS[family]:
            found[version] = sorted(symbols)[:5]
    return found


# Before glibc 2.34 these functions live in these libraries, which must then be dependencies.
SPLIT_LIBRARIES = {"libpthread.so.0": ("pthread_", "sem_"), "libdl.so.2": ("dl",)}
SPLIT_LIBRARIES["librt.so.1"] = ("shm_",)
# What manylinux_compat.cc defines for the library itself only: none may be exported.
COMPAT_NAMES = (
    "pthread_create",
    "dlopen",
    "shm_open",
    "sem_wait",
    "__libc_single_threaded",
    "_ZSt28__throw_bad_array_new_lengthv",
    "_ZNKRSt7__cxx1115basic_stringbufIcSt11char_traitsIcESaIcEE3strEv",
    "_ZNSt7__cxx1118basic_stringstreamIcSt11char_traitsIcESaIcEEC1Ev",
)


def needed(path: str | Path) -> set[str]:
    """The libraries a shared library names as dependencies (DT_NEEDED)."""
    text = subprocess.run(
        ["objdump", "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return {line.split()[1] for line in text.splitlines() if line.strip().startswith("NEEDED")}


def exported(path: str | Path) -> set[str]:
    """The symbols a shared library defines for others (its dynamic, defined symbols)."""
    text = subprocess.run(
        ["nm", "-D", "--defined-only", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return {line.split()[-1] for line in text.splitlines() if line.strip()}


def problems_of(path: str | Path) -> list[str]:
    """What keeps one library from manylinux_2_28 (empty: it fits)."""
    needs = version_needs(path)
    found = [f"needs {too_new(needs)}"] if too_new(needs) else []
    symbols = {s for names in needs.values() for s in names}
    for library, prefixes in SPLIT_LIBRARIES.items():
        if any(s.startswith(prefixes) for s in symbols) and library not in needed(path):
            found.append(f"calls {'/'.join(prefixes)}* but does not name {library}")
    leaked = sorted(exported(path) & set(COMPAT_NAMES))
    if leaked:
        found.append(f"exports its compatibility definitions {leaked}")
    return found


def check(paths: list[str | Path]) -> list[str]:
    """One line per library that does not fit manylinux_2_28 (empty: all fit)."""
    return [f"{p}: {'; '.join(problems_of(p))}" for p in paths if problems_of(p)]


if __name__ == "__main__":
    problems = check(sys.argv[1:])
    print("\n".join(problems) or f"fits {TAG}: {', '.join(sys.argv[1:])}")
    sys.exit(1 if problems else 0)
