"""How the package installs: the libraries ask only for what manylinux_2_28 systems have.

The wheel tag manylinux_2_28 promises glibc 2.28 and GCC 8's libstdc++ (RHEL 8 and newer):
every symbol version the compiled libraries need must exist there, however new the build
system is (plugin_src/common/manylinux_compat.cc)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from dali_saliencymix._native import libs

# The newest symbol versions of manylinux_2_28 (glibc 2.28, GCC 8.5's libstdc++).
LIMITS = {"GLIBC": (2, 28), "GLIBCXX": (3, 4, 25), "CXXABI": (1, 3, 11)}


def version_needs(path) -> dict[str, list[str]]:
    """The symbols of a shared library per version they need (objdump's dynamic symbols)."""
    text = subprocess.run(
        ["objdump", "-T", str(path)], capture_output=True, text=True, check=True
    ).stdout
    needs: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = re.search(r"\*UND\*\s+\S+\s+\(?((GLIBC|GLIBCXX|CXXABI)_[\d.]+)\)?\s+(\S+)$", line)
        if match:
            needs.setdefault(match.group(1), []).append(match.group(3))
    return needs


def too_new(needs: dict[str, list[str]]) -> dict[str, list[str]]:
    found = {}
    for version, symbols in needs.items():
        family, _, number = version.partition("_")
        if tuple(int(p) for p in number.split(".")) > LIMITS[family]:
            found[version] = sorted(symbols)[:5]
    return found


@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs objdump (binutils)")
@pytest.mark.parametrize("name", [libs.KERNELS_NAME, libs.PLUGIN_NAME])
def test_libraries_need_only_what_manylinux_2_28_has(name) -> None:
    path = libs.library_path(name)
    needs = version_needs(path)
    assert "GLIBC_2.2.5" in needs  # the parsing sees the libraries' needs
    assert too_new(needs) == {}, f"{path} needs symbol versions newer than manylinux_2_28"


def test_the_version_check_finds_newer_symbols() -> None:
    assert too_new({"GLIBC_2.34": ["pthread_create"], "GLIBC_2.17": ["x"]}) == {
        "GLIBC_2.34": ["pthread_create"]
    }
    assert too_new({"GLIBCXX_3.4.29": ["a"], "CXXABI_1.3.9": ["b"]}) == {"GLIBCXX_3.4.29": ["a"]}
