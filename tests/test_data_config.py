"""The factories take the model's data config: crop of any height and width, mean and std,
interpolation, and timm's ``resolve_data_config`` dict (all-CPU pipelines)."""

from __future__ import annotations

import numpy as np
import pytest
from nvidia.dali import types
from PIL import Image

from dali_saliencymix.pipeline import timm_data_config, train_pipeline, val_pipeline

COLOURS = {"red": (200, 30, 60), "teal": (20, 140, 150)}


@pytest.fixture(scope="module")
def flat_folder(tmp_path_factory):
    """Two classes of flat-coloured PNGs (resizing and cropping keep their values exactly)."""
    root = tmp_path_factory.mktemp("flat")
    for name, colour in COLOURS.items():
        (root / name).mkdir()
        for k, size in enumerate([(50, 70), (64, 48)]):
            Image.new("RGB", size, colour).save(root / name / f"{k}.png")
    return root


@pytest.fixture(scope="module")
def checker_folder(tmp_path_factory):
    """A black and white checkerboard of 3-pixel squares (resizing it makes new values)."""
    root = tmp_path_factory.mktemp("checker")
    (root / "a").mkdir()
    y, x = np.mgrid[0:60, 0:60]
    board = np.where((y // 3 + x // 3) % 2, 255, 0).astype(np.uint8)
    Image.fromarray(np.stack([board] * 3, -1)).save(root / "a" / "0.png")
    return root


def run(pipe) -> tuple[np.ndarray, np.ndarray]:
    images, labels = pipe.run()
    return np.stack([np.asarray(t) for t in images]), np.stack([np.asarray(t) for t in labels])


def expected(labels: np.ndarray, mean, std) -> np.ndarray:
    """(N, 3) normalised values of each sample's flat colour."""
    colours = np.array(list(COLOURS.values()), np.float64)[labels.reshape(-1)]
    return (colours / 255 - np.array(mean)) / np.array(std)


MEAN, STD = (0.5, 0.4, 0.3), (0.25, 0.2, 0.5)


def test_train_pipeline_takes_a_rectangular_crop_and_the_models_mean_and_std(flat_folder) -> None:
    pipe = train_pipeline(
        flat_folder, batch_size=4, num_threads=1, device_id=None, crop=(24, 40), mean=MEAN, std=STD
    )
    images, labels = run(pipe.pipeline)
    assert images.shape == (4, 3, 24, 40) and images.dtype == np.float32
    np.testing.assert_allclose(images.mean(axis=(2, 3)), expected(labels, MEAN, STD), atol=1e-5)
    assert np.ptp(images, axis=(2, 3)).max() < 1e-5  # still flat: every pixel normalised alike


def test_val_pipeline_resizes_to_cover_then_crops_the_rectangle(flat_folder) -> None:
    pipe = val_pipeline(
        flat_folder,
        batch_size=4,
        num_threads=1,
        device_id=None,
        crop=(30, 20),
        resize=(34, 23),
        mean=(0.45,),
        std=(0.2,),
        interpolation="bicubic",
    )
    images, labels = run(pipe.pipeline)
    assert images.shape == (4, 3, 30, 20)
    np.testing.assert_allclose(
        images.mean(axis=(2, 3)), expected(labels, (0.45,) * 3, (0.2,) * 3), atol=1e-5
    )


@pytest.mark.parametrize(
    ("interpolation", "new_values"),
    [("nearest", False), (types.INTERP_NN, False), ("bilinear", True), ("bicubic", True)],
)
def test_the_interpolation_is_the_one_asked_for(checker_folder, interpolation, new_values) -> None:
    """Nearest-neighbour resizing only repeats the board's two values; the others blend."""
    pipe = val_pipeline(
        checker_folder,
        batch_size=1,
        num_threads=1,
        device_id=None,
        crop=40,
        resize=44,
        mean=(0.0,),
        std=(1.0,),
        interpolation=interpolation,
    )
    images, _ = run(pipe.pipeline)
    values = np.unique(np.round(images * 255))
    assert set(values) <= {0.0, 255.0} or new_values
    assert (len(values) > 2) == new_values


TIMM_CONFIG = {
    "input_size": (3, 36, 52),
    "interpolation": "bicubic",
    "mean": (0.5, 0.5, 0.5),
    "std": (0.5, 0.5, 0.5),
    "crop_pct": 0.9,
    "crop_mode": "center",
}


def test_timm_data_config_gives_the_factories_arguments(flat_folder) -> None:
    train = timm_data_config(TIMM_CONFIG)
    assert train == {
        "crop": (36, 52),
        "mean": (0.5, 0.5, 0.5),
        "std": (0.5, 0.5, 0.5),
        "interpolation": "bicubic",
    }
    val = timm_data_config(TIMM_CONFIG, training=False)
    assert val == {**train, "resize": (40, 57)}  # floor(36 / 0.9), floor(52 / 0.9)
    square = timm_data_config({**TIMM_CONFIG, "input_size": (3, 224, 224)}, training=False)
    assert square["resize"] == 248  # timm: the shorter side, floor(224 / 0.9)
    for pipe in (
        train_pipeline(flat_folder, batch_size=2, num_threads=1, device_id=None, **train),
        val_pipeline(flat_folder, batch_size=2, num_threads=1, device_id=None, **val),
    ):
        images, labels = run(pipe.pipeline)
        assert images.shape == (2, 3, 36, 52)
        np.testing.assert_allclose(
            images.mean(axis=(2, 3)), expected(labels, (0.5,) * 3, (0.5,) * 3), atol=1e-5
        )


def test_timms_own_resolve_data_config_is_taken() -> None:
    try:
        from timm.data import resolve_data_config
    except Exception as err:  # noqa: BLE001 - timm's own imports may fail with any error
        pytest.skip(f"import timm fails here ({type(err).__name__}: {err})")
    config = resolve_data_config({}, pretrained_cfg=dict(TIMM_CONFIG))
    assert timm_data_config(config) == timm_data_config(TIMM_CONFIG)
    assert timm_data_config(config, training=False)["resize"] == (40, 57)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mean": (123.7, 116.3, 103.5)}, "train_pipeline: mean and std must be one or three"),
        ({"std": (0.2, 0.2)}, "train_pipeline: mean and std must be one or three"),
        ({"crop": (0, 32)}, "train_pipeline: crop must be a positive int or (height, width)"),
        ({"crop": (32, 32, 3)}, "train_pipeline: crop must be a positive int or (height, width)"),
        ({"interpolation": "random"}, "timm's random choice per image is not offered"),
        ({"interpolation": "box"}, "interpolation must be nvidia.dali.types.INTERP_* or one of"),
    ],
)
def test_a_bad_data_config_is_named(flat_folder, kwargs, message) -> None:
    with pytest.raises(ValueError) as err:
        train_pipeline(flat_folder, batch_size=2, num_threads=1, device_id=None, **kwargs)
    assert message in str(err.value)


def test_timm_data_config_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="expected timm's data config"):
        timm_data_config({"mean": (0.5,)})
    with pytest.raises(ValueError, match="crop_mode 'squash' is not offered"):
        timm_data_config({**TIMM_CONFIG, "crop_mode": "squash"}, training=False)
