"""What a compiled library asks of the system: its symbol versions against manylinux_2_28's.

The wheel tag manylinux_2_28 promises glibc 2.28 and GCC 8's libstdc++ (RHEL 8 and newer). The
libraries are built on a newer system; ``plugin_src/common/manylinux_compat.cc`` keeps them
within those versions, and :func:`too_new` says which symbols would not be.
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


def check(paths: list[str | Path]) -> list[str]:
    """One line per library that needs more than manylinux_2_28 has (empty: all fit)."""
    return [f"{p}: needs {too_new(version_needs(p))}" for p in paths if too_new(version_needs(p))]


if __name__ == "__main__":
    problems = check(sys.argv[1:])
    print("\n".join(problems) or f"fits {TAG}: {', '.join(sys.argv[1:])}")
    sys.exit(1 if problems else 0)
