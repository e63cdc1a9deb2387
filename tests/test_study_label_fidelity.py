"""pipelines/study_label_fidelity.py on a few photos: the table is written, every value is in
range, and target_background covers no more target saliency than SaliencyMix wherever
SaliencyMix's place is one of its grid positions."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import photo_paths
from mix_reference import grid_positions

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def study_module():
    spec = importlib.util.spec_from_file_location(
        "study_label_fidelity", ROOT / "pipelines" / "study_label_fidelity.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_study_on_three_photos(study_module, tmp_path) -> None:
    data = tmp_path / "photos"  # a plain folder: no class sub-folders
    data.mkdir()
    for path in photo_paths()[:3]:
        shutil.copy(path, data / f"{path.parent.name}_{path.name}")
    out = tmp_path / "out"
    pairs, size = 24, 96
    study = study_module.main(
        ["--data", str(data), "--pairs", str(pairs), "--size", str(size), "--out", str(out)]
    )
    table = (out / "table.md").read_text()
    assert "not accuracy" in table and "| SaliencyMix (paper) |" in table
    assert set(study.values) == set(study_module.METHODS)
    for name, values in study.values.items():
        for metric in ("source_share", "target_covered"):
            v = values[metric][~np.isnan(values[metric])]
            assert v.size > 0 and np.all((v >= 0) & (v <= 1)), (name, metric)
        assert values["gap"].shape == (pairs,)
        assert np.all(np.abs(values["gap"]) <= 1), name
    for name in ("saliency_weights", "both"):  # the label follows the content: gap 0
        np.testing.assert_allclose(study.values[name]["gap"], 0.0, atol=1e-6)
    # The same source boxes; the destinations inside the image.
    for name in ("target_background", "saliency_weights", "both"):
        np.testing.assert_array_equal(study.boxes[name], study.boxes["saliencymix"])
    dests = study.dests["target_background"]
    assert np.all(dests[:, :2] >= 0) and np.all(dests[:, 2:] <= size)
    # Per sample: where SaliencyMix's place is on target_background's grid, no more is covered.
    sp, tb = study.covered_mass["saliencymix"], study.covered_mass["target_background"]
    on_grid = 0
    for i, (y1, x1, y2, x2) in enumerate(study.boxes["saliencymix"]):
        if (y2 - y1) * (x2 - x1) == 0:
            continue
        if y1 in grid_positions(size, y2 - y1) and x1 in grid_positions(size, x2 - x1):
            on_grid += 1
            assert tb[i] <= sp[i], i
    assert on_grid > 0
    assert tb.mean() <= sp.mean()
    assert (
        study.values["target_background"]["target_covered"].mean()
        <= study.values["saliencymix"]["target_covered"].mean()
    )
    if (out / "figure.png").exists():
        assert (out / "figure.png").stat().st_size > 10_000


def test_study_refuses_a_folder_without_images(study_module, tmp_path) -> None:
    with pytest.raises(SystemExit, match="expected at least 2 images"):
        study_module.main(["--data", str(tmp_path), "--pairs", "2", "--out", str(tmp_path)])
