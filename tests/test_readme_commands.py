"""The README's shell commands, run as written (DATA_DIR replaced by a small generated dataset).

Commands are taken from the fenced ``bash`` blocks and from indented code lines of README.md.
Each is run verbatim through bash, in README order, in a scratch folder that links the
repository's ``pipelines`` and ``.venv``, with the Python that runs the tests first on PATH.
Only the commands listed in SKIPPED are not run, each for the reason given there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# (pattern, reason) for the commands a test does not run.
SKIPPED = [
    (
        r"^bash scripts/build_wheels\.sh cuda12$",
        "runs verbatim in tests/test_install.py, with the CUDA toolkit hidden (root, minutes)",
    ),
    (
        r"^bash scripts/setup\.sh && \.venv/bin/pytest",
        "the test command itself: CI runs it (.ci/run)",
    ),
    (r"^torchrun ", "needs 8 GPUs (the same trainer runs on the CPU in the next line)"),
    (r"(^| )pip install ", "installs packages from the network"),
    (r"tests/gpu/", "needs an NVIDIA GPU"),
]
SETUP_PREFIX = "bash scripts/setup.sh && "  # installs the environment the tests run in


def readme_commands(text: str) -> list[str]:
    """Shell commands of a Markdown text: fenced bash/sh blocks and indented code blocks."""
    commands: list[str] = []
    lines = text.splitlines()
    fence = None
    previous_blank = True
    in_indented = False
    for line in lines:
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith("```"):
                fence = None
            elif fence in ("bash", "sh", "shell", "console") and stripped:
                commands.append(stripped.removeprefix("$ "))
            previous_blank = False
            continue
        if stripped.startswith("```"):
            fence = stripped[3:].strip().lower()
            in_indented = False
            continue
        indented = line.startswith("    ") and stripped != ""
        if indented and (previous_blank or in_indented) and not stripped.startswith(("-", "*")):
            in_indented = True
            commands.append(stripped)
        elif stripped:
            in_indented = False
        previous_blank = stripped == ""
    return commands


def skip_reason(command: str) -> str | None:
    for pattern, reason in SKIPPED:
        if re.search(pattern, command):
            return reason
    return None


def small_dataset(root: Path) -> Path:
    """Two classes of 8 noisy images, dark and bright (JPEG and PNG)."""
    rng = np.random.default_rng(0)
    for c, base in enumerate((50, 190)):
        (root / f"class{c}").mkdir(parents=True)
        for k in range(8):
            pixels = np.clip(base + rng.normal(0, 30, (64, 80, 3)), 0, 255).astype(np.uint8)
            suffix = "png" if k == 0 else "jpg"
            Image.fromarray(pixels).save(root / f"class{c}" / f"{k}.{suffix}")
    return root


def test_the_readme_commands_are_found() -> None:
    commands = readme_commands(README.read_text())
    documented = {
        "python pipelines/train_imagenet.py DATA_DIR --epochs 2 --batch-size 8 --arch tiny --cpu "
        "--cutmix 1.0",
        "dali-saliencymix shards DATA_DIR shards/train --shard-size 4",
        "dali-saliencymix check DATA_DIR",
        "dali-saliencymix preview DATA_DIR --out grid.png",
        "dali-saliencymix preview DATA_DIR --out features.png --feature-mix features.1,features.2 "
        "--checkpoint tiny.pt",
        "bash scripts/setup.sh && .venv/bin/dali-saliencymix demo",
    }
    assert documented <= set(commands), commands
    assert not any(c.startswith(("from ", "import ", "images", "pipe")) for c in commands)


def test_the_readme_commands_run_as_written(tmp_path: Path) -> None:
    data = small_dataset(tmp_path / "data")
    work = tmp_path / "work"
    work.mkdir()
    (work / "pipelines").symlink_to(ROOT / "pipelines")
    if (ROOT / ".venv").exists():
        (work / ".venv").symlink_to(ROOT / ".venv")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    ran, skipped = [], []
    for command in readme_commands(README.read_text()):
        reason = skip_reason(command)
        if reason:
            skipped.append((command, reason))
            continue
        if command.startswith(SETUP_PREFIX):
            # The environment is the one these tests run in; run what follows the setup.
            command = command.removeprefix(SETUP_PREFIX)
        command = command.replace("DATA_DIR", str(data))
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        ran.append((command, done.stdout))
    output = {command: " ".join(out.split()) for command, out in ran}
    trainer = [out for c, out in output.items() if "train_imagenet.py" in c]
    assert len(trainer) == 4 and all("epoch 1: loss" in out for out in trainer)
    assert (work / "shards" / "train" / "manifest.json").is_file()
    assert (work / "grid.png").is_file() and (work / "out" / "demo.png").is_file()
    assert (work / "moved.png").is_file()
    assert (work / "tiny.pt").is_file() and (work / "features.png").is_file()
    lists = data.with_name(data.name + ".dali-saliencymix-check")  # beside the data, not in it
    assert (lists / "files.txt").read_text().count("\n") == 16
    assert any("checked 16 files of 2 classes" in out for out in output.values())
    assert [c for c, _ in skipped if c.startswith("torchrun")]  # stated reasons, listed above
