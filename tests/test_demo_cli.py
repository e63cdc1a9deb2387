"""The demo command: a saliency sheet of the shipped photos and a throughput line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from dali_saliencymix import cli
from dali_saliencymix.demo import photo_count
from dali_saliencymix.preview import heat_map, mark_peak


def test_demo_writes_sheet_and_reports_throughput(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo.png"
    assert cli.main(["demo", "--device", "cpu", "--out", str(out), "--batches", "2"]) == 0
    text = capsys.readouterr().out
    assert "images/s" in text and str(out.name) in text
    sheet = Image.open(out)
    n = photo_count()
    assert n >= 5
    # Three columns (image, heat map, marked peak), one row per photo, 224 px cells, 4 px gaps.
    assert sheet.size == (3 * 228 + 4, n * 228 + 4)
    pixels = np.asarray(sheet)
    assert pixels[4:228, 4:228].std() > 10  # a photo, not a blank cell


def test_heat_map_end_points_and_monotone_brightness() -> None:
    ramp = np.arange(256, dtype=np.uint8)[None, :]
    rgb = heat_map(ramp)[0].astype(int)
    assert tuple(rgb[0]) == (0, 0, 4) and tuple(rgb[255]) == (252, 255, 164)
    luminance = rgb @ np.array([0.299, 0.587, 0.114])
    assert np.all(np.diff(luminance) > -1.0)  # brighter with saliency, up to rounding
    np.testing.assert_array_equal(heat_map(ramp.astype(np.float32) / 255), heat_map(ramp))


def test_mark_peak_draws_on_the_peak() -> None:
    image = np.zeros((100, 120, 3), np.uint8)
    marked = np.asarray(mark_peak(image, (40, 70)))
    assert tuple(marked[40, 70]) == (0, 255, 0)
    assert not marked[:, :30].any()  # far from the peak stays untouched


def test_gpu_request_without_gpu_is_a_clear_error(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    try:
        cli.main(["demo", "--device", "gpu"])
    except SystemExit as exit_:
        assert "no CUDA GPU is available" in str(exit_)
    else:
        raise AssertionError("expected SystemExit")
