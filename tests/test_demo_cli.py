"""The command line: demo, preview, bench, and clear errors for bad data."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import PHOTO_DIR
from PIL import Image

from dali_saliencymix.app import cli
from dali_saliencymix.app.pictures import heat_map, mark_peak, outline_box
from dali_saliencymix.data.folder import DatasetError, scan_image_folder


def test_demo_writes_preview_and_reports_throughput(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo.png"
    assert cli.main(["demo", "--device", "cpu", "--out", str(out), "--batches", "2"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "images/s" in text and "without mixing" in text and out.name in text
    n = scan_image_folder(PHOTO_DIR).num_files
    # Five columns (MixUp, CutMix, SaliencyMix, source, source saliency), one row per photo,
    # 228 px cells.
    sheet = np.asarray(Image.open(out))
    assert sheet.shape[:2] == (n * 228 + 4, 5 * 228 + 4)
    assert sheet[4:228, 4:228].std() > 10  # a photo, not a blank cell


def make_dataset(root: Path, classes: int = 3, per_class: int = 3) -> Path:
    photos = sorted(PHOTO_DIR.glob("*/*.jpg"))
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
        for k in range(per_class):
            shutil.copy(photos[(c * per_class + k) % len(photos)], root / f"class{c}" / f"{k}.jpg")
    return root


def test_preview_grid(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data")
    out = tmp_path / "preview.png"
    assert (
        cli.main(
            [
                "preview",
                str(data),
                "--out",
                str(out),
                "--batch-size",
                "4",
                "--device",
                "cpu",
                "--size",
                "96",
            ]
        )
        == 0
    )
    sheet = np.asarray(Image.open(out))
    assert sheet.shape[:2] == (4 * 228 + 4, 5 * 228 + 4)


def test_bench_prints_both_pipelines(tmp_path: Path, capsys) -> None:
    data = make_dataset(tmp_path / "data")
    assert (
        cli.main(
            [
                "bench",
                str(data),
                "--device",
                "cpu",
                "--batch-size",
                "4",
                "--batches",
                "2",
                "--size",
                "64",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "no mixing" in text and "SaliencyMix (batch)" in text and "images/s" in text


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda root: None, "does not exist"),
        (lambda root: root.mkdir(), "no class sub-folders (it is empty)"),
        (
            lambda root: (root.mkdir(), (root / "a.jpg").write_bytes(b"x")),
            "no class sub-folders (it holds 1 loose files)",
        ),
        (lambda root: (root / "cat").mkdir(parents=True), "hold no files"),
        (
            lambda root: (
                (root / "cat").mkdir(parents=True),
                (root / "cat" / "notes.txt").write_text("hi"),
            ),
            "not images (by name)",
        ),
        (
            lambda root: (
                (root / "cat").mkdir(parents=True),
                (root / "cat" / "broken.jpg").write_text("not a jpeg"),
            ),
            "unreadable or not images (by content)",
        ),
    ],
    ids=["missing", "empty", "loose-files", "empty-classes", "text-file", "broken-jpeg"],
)
def test_bad_data_is_a_clear_error(tmp_path: Path, setup, message, capsys) -> None:
    root = tmp_path / "data"
    setup(root)
    with pytest.raises(DatasetError) as err:
        scan_image_folder(root)
    assert message in str(err.value)
    assert (
        cli.main(["preview", str(root), "--out", str(tmp_path / "x.png"), "--device", "cpu"]) == 1
    )
    err = capsys.readouterr().err
    assert message in " ".join(err.split()) and err.count("\n") == 1  # one line


def test_too_few_classes_is_a_clear_error(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", classes=3)
    with pytest.raises(DatasetError, match="has 3 class folders but num_classes is 2"):
        scan_image_folder(data, num_classes=2)


def test_heat_map_end_points_and_monotone_brightness() -> None:
    ramp = np.arange(256, dtype=np.uint8)[None, :]
    rgb = heat_map(ramp)[0].astype(int)
    assert tuple(rgb[0]) == (0, 0, 4) and tuple(rgb[255]) == (252, 255, 164)
    luminance = rgb @ np.array([0.299, 0.587, 0.114])
    assert np.all(np.diff(luminance) > -1.0)  # brighter with saliency, up to rounding
    np.testing.assert_array_equal(heat_map(ramp.astype(np.float32) / 255), heat_map(ramp))


def test_mark_peak_and_outline_box_draw_where_asked() -> None:
    image = np.zeros((100, 120, 3), np.uint8)
    marked = np.asarray(mark_peak(image, (40, 70)))
    assert tuple(marked[40, 70]) == (0, 255, 0)
    assert not marked[:, :30].any()
    boxed = np.asarray(outline_box(image, (10, 20, 50, 60)))
    assert tuple(boxed[10, 30]) == (0, 255, 0) and not boxed[30, 40].any()
    assert not np.asarray(outline_box(image, (0, 0, 0, 0))).any()


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "--batches", "0"],
        ["bench", "--batch-size", "-1"],
        ["demo", "--size", "0"],
        ["preview", "DATA", "--size", "-5"],
        ["preview", "DATA", "--batch-size", "0"],
        ["check", "DATA", "--threads", "0"],
    ],
    ids=[
        "bench-batches",
        "bench-batch-size",
        "demo-size",
        "preview-size",
        "preview-batch",
        "check",
    ],
)
def test_numeric_options_must_be_positive(argv, tmp_path: Path, capsys) -> None:
    data = make_dataset(tmp_path / "data", classes=2, per_class=1)
    out = tmp_path / "x.png"
    argv = [str(data) if a == "DATA" else a for a in argv]
    if argv[0] == "preview":
        argv += ["--out", str(out)]
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2  # argparse's usage error, before any work
    assert "expected an integer >= 1" in capsys.readouterr().err
    assert not out.exists()


def test_errors_print_as_plain_text_not_markup(tmp_path: Path, capsys) -> None:
    """A message holding '[/x]' (as DALI's 'C++ context: [/opt/dali/...]' does) prints as is."""
    root = tmp_path / "[" / "x]" / "data"
    assert cli.main(["preview", str(root), "--out", str(tmp_path / "p.png")]) == 1
    text = "".join(capsys.readouterr().err.split())
    assert f"datasetfolder{root}doesnotexist".replace(" ", "") in text


def test_preview_names_classes_by_the_class_map(tmp_path: Path) -> None:
    """With a hidden folder beside the classes, the captions still name the right classes."""
    from dali_saliencymix.app.preview import preview_pipeline, to_numpy
    from dali_saliencymix.pipeline import MixConfig

    data = make_dataset(tmp_path / "data", classes=2, per_class=2)
    (data / ".ipynb_checkpoints").mkdir()
    folder = scan_image_folder(data)
    p = preview_pipeline(folder, 4, None, 64, MixConfig(num_classes=2), 1)
    labels = sorted(int(np.asarray(v).reshape(-1)[0]) for v in to_numpy(p.run()[1]))
    assert labels == [0, 0, 1, 1] and folder.classes == ["class0", "class1"]


def test_gpu_request_without_gpu_is_a_clear_error(monkeypatch, capsys) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cli.main(["demo", "--device", "gpu"]) == 2
    assert "--device gpu asked for, but no CUDA GPU is available" in capsys.readouterr().err


def test_preview_with_target_background_shows_both_boxes(tmp_path: Path) -> None:
    from dali_saliencymix.app.preview import preview_pipeline, to_numpy
    from dali_saliencymix.pipeline import MixConfig

    data = make_dataset(tmp_path / "data", classes=2, per_class=3)
    out = tmp_path / "p.png"
    args = ["preview", str(data), "--out", str(out), "--batch-size", "6", "--device", "cpu"]
    args += ["--size", "96", "--placement", "target_background", "--label-weights", "saliency"]
    assert cli.main(args) == 0
    assert np.asarray(Image.open(out)).shape[:2] == (6 * 228 + 4, 5 * 228 + 4)
    mix = MixConfig(num_classes=2, placement="target_background")
    outputs = [
        to_numpy(o) for o in preview_pipeline(scan_image_folder(data), 6, None, 96, mix, 1).run()
    ]
    boxes, dest = np.stack(outputs[-4]), np.stack(outputs[-3])  # the SaliencyMix column
    np.testing.assert_array_equal(boxes[:, 2:] - boxes[:, :2], dest[:, 2:] - dest[:, :2])
    assert (boxes != dest).any()  # some patch went elsewhere than where it was cut
    assert ((dest[:, :2] >= 0) & (dest[:, 2:] <= 96)).all()


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["bench", "--cutmix", "0", "--mixup", "0"], "nothing would be mixed", 2),
        (["demo", "--num-classes", "2"], "has 4 class folders but num_classes is 2", 1),
        (["bench", "--mixup-prob", "2"], "bench: --mixup-prob must be in [0, 1], got 2.0", 2),
        (["bench", "--cutmix", "-1"], "bench: --cutmix must be >= 0 (0 = off), got -1.0", 2),
        (
            ["bench", "--mixup-mode", "pair", "--mixup-pairing", "permutation"],
            "needs --mixup-pairing 'reverse'",
            2,
        ),
    ],
)
def test_cli_mixing_errors_name_the_flags(args, message, code, capsys, tmp_path: Path) -> None:
    argv = [*args, "--device", "cpu"] + (
        ["--out", str(tmp_path / "d.png")] if "demo" in args else []
    )
    assert cli.main(argv) == code
    assert message in " ".join(capsys.readouterr().err.split())


def test_preview_offers_only_the_flags_its_picture_uses() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["preview", "d", "--out", "x.png", "--mixup-mode", "batch"])
    args = cli.build_parser().parse_args(["preview", "d", "--out", "x.png", "--mixup", "0.4"])
    assert args.mixup == 0.4 and not hasattr(args, "mixup_mode")
