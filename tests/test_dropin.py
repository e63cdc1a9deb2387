"""The drop-in page for DALI's ResNet-50 example: small diff, runnable pipeline."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_diff_changes_about_ten_lines() -> None:
    page = (ROOT / "pipelines" / "resnet50_dropin.md").read_text()
    diff = re.search(r"```diff\n(.*?)```", page, re.S).group(1)
    changed = [line for line in diff.splitlines() if line[:1] in "+-"]
    assert 4 <= len(changed) <= 10
    assert any("saliency_mix(images, labels" in line for line in changed)


def test_dropin_pipeline_runs_on_the_cpu() -> None:
    spec = importlib.util.spec_from_file_location(
        "dropin", ROOT / "pipelines" / "resnet50_dropin.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shapes = module.main(["--dali_cpu", "--batches", "2", "--batch-size", "3"])
    assert len(shapes) == 2
    for images, targets, sums in shapes:
        assert images == (3, 3, 224, 224) and targets == (3, 4)
        assert sums == pytest.approx([1.0, 1.0, 1.0])
