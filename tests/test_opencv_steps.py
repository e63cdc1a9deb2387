"""The first steps of docs/algorithm.md, written out in numpy, against OpenCV's own functions.

The kernels implement these formulas in C++/CUDA (fine_grained_saliency_math.h); the end-to-end
tests compare whole maps. Here each documented formula is checked on its own: the fixed-point
gray conversion for all 2^24 colours, the rounded 3x3 blur with its border rule on edge sizes,
and the integral image's exact rows and float32 column order.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest


def gray(rgb: np.ndarray) -> np.ndarray:
    """Y = (3735 B + 19235 G + 9798 R + 16384) >> 15 of uint8 RGB."""
    r, g, b = (rgb[..., k].astype(np.uint32) for k in range(3))
    return ((3735 * b + 19235 * g + 9798 * r + 16384) >> 15).astype(np.uint8)


def blur(image: np.ndarray) -> np.ndarray:
    """3x3 [1 2 1]^T [1 2 1] sum, (sum + 8) >> 4, BORDER_REFLECT_101; a length-1 axis unblurred."""

    def reflect(i: np.ndarray, n: int) -> np.ndarray:
        if n == 1:
            return np.zeros_like(i)
        return np.where(i < 0, -i, np.where(i >= n, 2 * n - 2 - i, i))

    h, w = image.shape
    ys, xs = np.arange(h), np.arange(w)
    v = image.astype(np.uint32)
    rows = v[reflect(ys - 1, h)] + 2 * v + v[reflect(ys + 1, h)]
    total = rows[:, reflect(xs - 1, w)] + 2 * rows + rows[:, reflect(xs + 1, w)]
    return ((total + 8) >> 4).astype(np.uint8)


def integral(image: np.ndarray) -> np.ndarray:
    """float32 integral: exact row prefix sums, added to the row above in float32, top down."""
    h, w = image.shape
    out = np.zeros((h + 1, w + 1), np.float32)
    prefix = np.cumsum(image.astype(np.int64), axis=1).astype(np.float32)  # exact below 2^24
    for y in range(h):
        out[y + 1, 1:] = out[y, 1:] + prefix[y]
    return out


def test_gray_equals_bgr2gray_for_every_colour() -> None:
    codes = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], axis=-1)
    rgb = rgb.astype(np.uint8).reshape(4096, 4096, 3)
    expected = cv2.cvtColor(np.ascontiguousarray(rgb[..., ::-1]), cv2.COLOR_BGR2GRAY)
    np.testing.assert_array_equal(gray(rgb), expected)


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 7), (7, 1), (2, 2), (2, 9), (3, 300), (31, 33), (224, 224)], ids=str
)
def test_two_blurs_equal_gaussian_blur(shape, rng) -> None:
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    expected = image
    for _ in range(2):
        expected = cv2.GaussianBlur(expected, (3, 3), 0)
    np.testing.assert_array_equal(blur(blur(image)), expected)


@pytest.mark.parametrize("shape", [(5, 7), (300, 257), (1024, 768), (3, 65_793)], ids=str)
def test_integral_rows_exact_columns_in_float32_order(shape, rng) -> None:
    image = rng.integers(200, 256, shape, dtype=np.uint8)  # column sums pass 2^24
    expected = cv2.integral(image, sdepth=cv2.CV_32F)
    assert expected.dtype == np.float32
    assert expected.tobytes() == integral(image).tobytes()
    if image.size > 65_793:  # the float32 sums did round: an exact (float64) integral differs
        assert not np.array_equal(expected, cv2.integral(image, sdepth=cv2.CV_64F))
