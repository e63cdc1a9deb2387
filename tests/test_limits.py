"""Shape limits: every accepted shape is computed exactly, the first shape past a limit is refused.

The widest accepted image is 65,793 pixels: 255 * 65,793 = 2^24 - 1, so every row sum of the
float32 integral image is an exact float32 integer however it is accumulated (OpenCV adds a row
in float32, the kernels in int32). Past it OpenCV's row sums round, in an order that depends on
its SIMD width. Height * width is at most 2^31 - 1 (31-bit per-image indices), and the height at
most 2^30 (the kernels' 32-bit row arithmetic). See plugin_src/checks/image_checks.h and
docs/algorithm.md ("Limits").
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import numpy as np
import pytest
from conftest import opencv_saliency, opencv_saliency_u8
from kernel_calls import saliency_mix_numpy
from mix_reference import reference_mix

from dali_saliencymix import MixConfig
from dali_saliencymix._native import c_api
from dali_saliencymix._native import libs as _libs
from dali_saliencymix.numpy import saliency_map

MAX_WIDTH = 65_793
MAX_PIXELS = 2**31 - 1
MAX_HEIGHT = 2**30


@lru_cache(maxsize=1)
def raw_library() -> ctypes.CDLL:
    """The kernels library with this test's own declaration of dsm_saliency_cpu (dsm_c_api.h)."""
    lib = ctypes.CDLL(str(_libs.library_path(_libs.KERNELS_NAME)))
    lib.dsm_last_error.restype = ctypes.c_char_p
    lib.dsm_saliency_cpu.restype = ctypes.c_int32
    i32 = ctypes.c_int32
    lib.dsm_saliency_cpu.argtypes = [ctypes.c_void_p, i32, i32, i32, ctypes.c_void_p, i32,
                                     ctypes.c_void_p]  # fmt: skip
    return lib


def shape_error(height: int, width: int, channels: int) -> str:
    """dsm_saliency_cpu's message for a shape (the shape is checked before any pixel is read)."""
    one = np.zeros(4, np.uint8)
    status = raw_library().dsm_saliency_cpu(
        one.ctypes.data, height, width, channels, one.ctypes.data, 0, None
    )
    assert status != 0, (height, width, channels)
    return raw_library().dsm_last_error().decode()


def null_pointer_error(height: int, width: int, channels: int) -> str:
    """dsm_saliency_cpu's message for a shape with NULL image and map: the shape's refusal when
    it is refused (the shape is checked first), else the NULL pointers' (nothing is read)."""
    status = raw_library().dsm_saliency_cpu(None, height, width, channels, None, 0, None)
    assert status != 0, (height, width, channels)
    return raw_library().dsm_last_error().decode()


def bright_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Noise in [200, 255]: row sums close to 255 * width, column sums far past 2^24."""
    return rng.integers(200, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("shape", [(1, MAX_WIDTH), (3, MAX_WIDTH, 3), (2, MAX_WIDTH, 1)], ids=str)
def test_widest_accepted_image_is_exact(shape, rng) -> None:
    image = bright_noise(rng, shape)
    ours, peak = saliency_map(image)
    np.testing.assert_array_equal(ours, opencv_saliency_u8(image))
    ours_f32, _ = saliency_map(image, dtype=np.float32)
    assert ours_f32.tobytes() == opencv_saliency(image).tobytes()
    expected = opencv_saliency(image)
    assert peak == np.unravel_index(int(np.argmax(expected)), expected.shape)


def test_mix_at_the_width_limit_equals_the_reference(rng) -> None:
    images = bright_noise(rng, (2, 2, MAX_WIDTH, 3))
    labels = np.array([0, 1], np.int32)
    source, lam, apply = np.array([1, 0], np.int32), np.array([0.3, 0.6], np.float32), [1, 1]
    apply = np.array(apply, np.uint8)
    ours = saliency_mix_numpy(images, labels, num_classes=2, source=source, lam=lam, apply=apply)
    ref = reference_mix(images, labels, 2, source, lam, apply, "elem", 0.0, True)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(a, b)


def test_one_pixel_wider_is_refused() -> None:
    message = shape_error(1, MAX_WIDTH + 1, 3)
    assert message.startswith("dsm_saliency_cpu: image: expected a width of at most 65793")
    assert "got shape (1, 65794, 3)" in message
    assert "dsm_saliency_cpu" in shape_error(1, 2**30, 1)  # the old limit, far past the new one


def test_pixel_count_limit() -> None:
    # 32,640 * 65,793 = 2,147,483,520 <= 2^31 - 1 passes the shape check (not computed here: it
    # would need about 20 GB); one more row is refused.
    rows = MAX_PIXELS // MAX_WIDTH
    assert rows * MAX_WIDTH <= MAX_PIXELS < (rows + 1) * MAX_WIDTH
    message = shape_error(rows + 1, MAX_WIDTH, 1)
    assert "expected at most 2^31 - 1 pixels (height * width)" in message
    assert f"got shape ({rows + 1}, {MAX_WIDTH}, 1)" in message
    tall = MAX_PIXELS // 2 + 1  # a tall image past the count with a narrow width
    assert "2^31 - 1 pixels" in shape_error(tall, 2, 3)


def test_the_dali_operators_share_the_limits(rng) -> None:
    from nvidia.dali import fn, pipeline_def

    import dali_saliencymix

    dali_saliencymix.load_plugin()

    def run(image):
        def pipe():
            data = fn.external_source(source=lambda: [image], layout="HWC", batch=True)
            return fn.fine_grained_saliency(data)

        p = pipeline_def(pipe, batch_size=1, num_threads=1, device_id=None)()
        p.build()
        return np.array(p.run()[0][0])

    at_limit = bright_noise(rng, (2, MAX_WIDTH, 3))
    np.testing.assert_array_equal(run(at_limit), opencv_saliency_u8(at_limit))
    with pytest.raises(RuntimeError, match="expected a width of at most 65793 pixels"):
        run(np.zeros((1, MAX_WIDTH + 1, 3), np.uint8))


def test_height_limit() -> None:
    # 2^30 + 1 rows of one pixel pass the pixel limit but not the height limit: the kernels
    # index rows with 32-bit ints and go a little past the last row (y + 113, H + 1, ...).
    assert (MAX_HEIGHT + 1) * 1 <= MAX_PIXELS
    message = null_pointer_error(MAX_HEIGHT + 1, 1, 1)
    assert message.startswith("dsm_saliency_cpu: image: expected a height of at most 1073741824")
    assert "(2^30)" in message
    assert f"got shape ({MAX_HEIGHT + 1}, 1, 1)" in message
    assert "at most 1073741824 (2^30)" in null_pointer_error(MAX_PIXELS, 1, 3)
    # The tallest accepted shape passes the shape check (then the NULL pointers are refused).
    assert null_pointer_error(MAX_HEIGHT, 1, 1).endswith(": image and map must not be NULL")


def test_the_mix_refuses_past_the_height_limit() -> None:
    one = np.zeros(1, np.int32)
    lam = np.ones(1, np.float32)
    apply = np.ones(1, np.uint8)
    expected = r"dsm_mix_cpu: images: expected a height of at most 1073741824 \(2\^30\) rows"
    with pytest.raises(ValueError, match=expected):
        c_api.mix(
            images=None,
            shape=(1, MAX_HEIGHT + 1, 1, 1),
            label_ids=one.ctypes.data,
            soft_labels=None,
            options=MixConfig(num_classes=1),
            source=one.ctypes.data,
            lam=lam.ctypes.data,
            apply=apply.ctypes.data,
            cutmix=None,
            box_draw=None,
            out_images=None,
            out_labels=None,
            out_boxes=None,
            out_lam=None,
        )


def test_a_tall_thin_image_is_computed_exactly(rng) -> None:
    # Well below the height limit and taller than the widest row: one pixel wide.
    image = bright_noise(rng, (70_000, 1))
    ours, peak = saliency_map(image)
    expected = opencv_saliency_u8(image)
    np.testing.assert_array_equal(ours, expected)
    assert peak == np.unravel_index(int(np.argmax(expected)), expected.shape)
