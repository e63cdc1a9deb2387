"""The saliency map through the C API equals OpenCV's, bit for bit, and its argmax np.argmax."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import opencv_saliency, opencv_saliency_u8
from crafted import on_off_overflow_image

from dali_saliencymix import saliency_map

# Awkward sizes from the issue, plus thin strips and sizes around the float32 integral limit
# (above 65,793 pixels the float32 integral rounds).
SIZES = [
    (1, 1),
    (1, 9),
    (9, 1),
    (1, 300),
    (300, 1),
    (2, 2),
    (3, 300),
    (31, 33),
    (224, 224),
    (257, 300),
    (255, 258),
    (480, 640),
    (768, 1024),
]


def assert_exact(image: np.ndarray) -> None:
    expected = opencv_saliency(image)
    ours_u8, peak = saliency_map(image)
    ours_f32, peak_f32 = saliency_map(image, dtype=np.float32)
    np.testing.assert_array_equal(ours_u8, opencv_saliency_u8(image))
    # Bit for bit, including OpenCV's float32 k/255 values.
    assert ours_f32.dtype == np.float32
    assert ours_f32.tobytes() == expected.tobytes()
    argmax = np.unravel_index(int(np.argmax(expected)), expected.shape)
    assert peak == argmax == peak_f32


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_random_rgb_noise(size: tuple[int, int], rng: np.random.Generator) -> None:
    assert_exact(rng.integers(0, 256, (*size, 3), dtype=np.uint8))


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (31, 33), (257, 300)], ids=str)
def test_random_gray_noise(size: tuple[int, int], rng: np.random.Generator) -> None:
    assert_exact(rng.integers(0, 256, size, dtype=np.uint8))


def test_photos_rgb_and_gray(photos: list[np.ndarray]) -> None:
    assert any(p.ndim == 2 for p in photos), "one shipped photo is gray"
    for photo in photos:
        assert_exact(photo)
        if photo.ndim == 3:
            assert_exact(np.ascontiguousarray(photo[:, :, :1]))  # HWC with C=1


def test_photo_crops_224_and_large(photos: list[np.ndarray]) -> None:
    for photo in photos:
        assert_exact(np.ascontiguousarray(photo[:224, :224]))
    # Past 65,793 pixels OpenCV's float32 integral rounds: a photo upscaled 2x (about 540k px).
    big = np.ascontiguousarray(np.repeat(np.repeat(photos[0], 2, axis=0), 2, axis=1))
    assert big.shape[0] * big.shape[1] > 65_793 * 8
    assert_exact(big)


@pytest.mark.parametrize("size", [(224, 224), (257, 300), (640, 480)], ids=str)
def test_smooth_gradients(size: tuple[int, int]) -> None:
    h, w = size
    y, x = np.mgrid[0:h, 0:w]
    image = np.stack(
        [(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)), ((x + y) * 255 // (h + w))],
        axis=-1,
    ).astype(np.uint8)
    assert_exact(image)
    assert_exact(np.ascontiguousarray(image[..., 0]))


@pytest.mark.parametrize("value", [0, 1, 128, 255])
@pytest.mark.parametrize("size", [(1, 1), (5, 7), (224, 224)], ids=str)
def test_flat_images(value: int, size: tuple[int, int]) -> None:
    image = np.full((*size, 3), value, np.uint8)
    assert_exact(image)
    ours, peak = saliency_map(image)
    assert not ours.any() and peak == (0, 0)  # 0/0 in OpenCV's normalisation gives 0


def test_single_dark_dot_on_flat_field() -> None:
    # Only "off" responses survive truncation here: the "on" maximum is 0 (0/0 normalisation).
    image = np.full((64, 64, 3), 200, np.uint8)
    image[30:33, 40:43] = 0
    assert_exact(image)


def test_ties_resolve_to_first_maximum() -> None:
    # Two identical bright dots: the first one in row-major order wins.
    image = np.zeros((100, 100), np.uint8)
    image[20, 70] = image[70, 20] = 255
    expected = opencv_saliency(image)
    assert np.count_nonzero(expected == expected.max()) >= 2
    assert_exact(image)


def test_mixed_sum_over_255_wraps_like_opencv() -> None:
    """Crafted so that On8 + Off8 = 257 at one pixel: OpenCV's uint8 cast wraps it to 1."""
    image = on_off_overflow_image()
    assert_exact(image)
    ours, _ = saliency_map(image)
    assert ours.min() == 1 and 255 in ours  # the wrapped pixel, and the regular maximum
    # Also inside larger images (stacked rows, a gray copy) the wrap survives.
    assert_exact(np.ascontiguousarray(np.repeat(image, 2, axis=0)))
    assert_exact(np.ascontiguousarray(image[..., 0]))
