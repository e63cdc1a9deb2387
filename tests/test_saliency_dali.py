"""`fn.fine_grained_saliency` in CPU DALI pipelines equals OpenCV's saliency, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import PHOTO_DIR, opencv_saliency, opencv_saliency_u8, photo_paths
from nvidia.dali import fn, pipeline_def, types

import dali_saliencymix

dali_saliencymix.load_plugin()  # registers fn.saliency_mix and fn.fine_grained_saliency


def run_external(batch: list[np.ndarray], layout: str, **op_args: object) -> list[list[np.ndarray]]:
    """Run the operator on one batch fed through external_source; returns outputs as numpy."""

    @pipeline_def(batch_size=len(batch), num_threads=2, device_id=None)
    def pipe():  # noqa: ANN202
        images = fn.external_source(source=lambda: batch, layout=layout, batch=True)
        out = dali_saliencymix.fine_grained_saliency(images, **op_args)
        return tuple(out) if isinstance(out, tuple | list) else (out,)

    p = pipe()
    p.build()
    outputs = p.run()
    return [[np.array(o[i]) for i in range(len(batch))] for o in outputs]


def test_operator_is_registered_in_fn() -> None:
    assert hasattr(fn, "fine_grained_saliency")


def test_reader_decoder_pipeline_matches_opencv() -> None:
    n = len(photo_paths())

    @pipeline_def(batch_size=n, num_threads=2, device_id=None)
    def pipe():  # noqa: ANN202
        jpegs, _ = fn.readers.file(file_root=str(PHOTO_DIR), name="Reader")
        images = fn.decoders.image(jpegs, device="cpu", output_type=types.RGB)
        maps, peaks = dali_saliencymix.fine_grained_saliency(images, output_peak=True)
        floats = fn.fine_grained_saliency(images, dtype=types.FLOAT)
        return images, maps, peaks, floats

    p = pipe()
    p.build()
    images, maps, peaks, floats = p.run()
    assert maps.layout() == "HW"
    for i in range(n):
        image = np.array(images[i])
        expected = opencv_saliency(image)
        np.testing.assert_array_equal(np.array(maps[i]), opencv_saliency_u8(image))
        assert np.array(floats[i]).tobytes() == expected.tobytes()
        peak = tuple(int(v) for v in np.array(peaks[i]))
        assert peak == np.unravel_index(int(np.argmax(expected)), expected.shape)


def test_mixed_sizes_in_one_batch(rng: np.random.Generator) -> None:
    sizes = [
        (1, 1),
        (1, 9),
        (9, 1),
        (2, 2),
        (31, 33),
        (224, 224),
        (257, 300),
        (480, 640),
        (768, 1024),
    ]
    batch = [rng.integers(0, 256, (*s, 3), dtype=np.uint8) for s in sizes]
    (maps, peaks) = run_external(batch, "HWC", output_peak=True)
    for image, m, peak in zip(batch, maps, peaks, strict=True):
        expected = opencv_saliency_u8(image)
        assert m.shape == image.shape[:2] and m.dtype == np.uint8
        np.testing.assert_array_equal(m, expected)
        assert tuple(peak) == np.unravel_index(int(np.argmax(expected)), expected.shape)


def test_gray_inputs_hw_and_hwc1(photos: list[np.ndarray]) -> None:
    gray = [p if p.ndim == 2 else np.ascontiguousarray(p[..., 1]) for p in photos]
    (maps,) = run_external(gray, "HW")
    for image, m in zip(gray, maps, strict=True):
        np.testing.assert_array_equal(m, opencv_saliency_u8(image))
    (maps_c1,) = run_external([g[..., None] for g in gray], "HWC", dtype=types.FLOAT)
    for image, m in zip(gray, maps_c1, strict=True):
        assert m.tobytes() == opencv_saliency(image).tobytes()


def test_same_result_with_one_or_many_threads(photos: list[np.ndarray]) -> None:
    batch = [p for p in photos if p.ndim == 3]

    def run(threads: int) -> list[np.ndarray]:
        @pipeline_def(batch_size=len(batch), num_threads=threads, device_id=None)
        def pipe():  # noqa: ANN202
            images = fn.external_source(source=lambda: batch, layout="HWC", batch=True)
            return dali_saliencymix.fine_grained_saliency(images)

        p = pipe()
        p.build()
        (out,) = p.run()
        return [np.array(out[i]) for i in range(len(batch))]

    for a, b in zip(run(1), run(3), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("batch", "layout", "message"),
    [
        ([np.zeros((8, 8, 3), np.float32)], "HWC", "must be uint8"),
        ([np.zeros((8, 8, 3), np.int16)], "HWC", "must be uint8"),
        ([np.zeros((8, 8, 2), np.uint8)], "HWC", "1 (gray) or 3 (RGB) channels"),
        ([np.zeros((8, 8, 4), np.uint8)], "HWC", "1 (gray) or 3 (RGB) channels"),
        ([np.zeros((3, 8, 8), np.uint8)], "CHW", "layout"),
        ([np.zeros((3, 32, 32), np.uint8)], "", "looks like CHW"),
        ([np.zeros((0, 8, 3), np.uint8)], "HWC", "non-empty image"),
        ([np.zeros((8, 0, 3), np.uint8)], "HWC", "non-empty image"),
        ([np.zeros((8, 8, 3), np.uint8), np.zeros((0, 0, 3), np.uint8)], "HWC", "sample 1"),
        ([np.zeros((2, 8, 8, 3), np.uint8)], "", "allowed layouts"),
    ],
    ids=[
        "float32",
        "int16",
        "2-channels",
        "4-channels",
        "CHW-layout",
        "CHW-no-layout",
        "empty-rows",
        "empty-cols",
        "empty-second-sample",
        "4-dims",
    ],
)
def test_bad_input_gives_clear_error(batch: list[np.ndarray], layout: str, message: str) -> None:
    with pytest.raises((RuntimeError, ValueError)) as err:
        run_external(batch, layout)
    text = str(err.value)
    assert "fine_grained_saliency" in text or "FineGrainedSaliency" in text
    assert message in text


def test_bad_dtype_argument() -> None:
    with pytest.raises(RuntimeError, match="`dtype` must be types.UINT8 or types.FLOAT"):
        run_external([np.zeros((8, 8, 3), np.uint8)], "HWC", dtype=types.INT32)
