"""Images crafted to reach rare branches of OpenCV's arithmetic."""

from __future__ import annotations

import numpy as np

# A 1x101 row of steps (found by a random search over step profiles) where one pixel has
# On8 + Off8 = 257 > 255: OpenCV's `(uchar)` of the double wraps it to 1 (x86 truncation).
_OVERFLOW_RUNS = [(44, 8), (51, 6), (62, 7), (42, 23), (39, 57)]


def on_off_overflow_image() -> np.ndarray:
    """uint8 RGB 1x101 image whose mixed On8 + Off8 exceeds 255 at one pixel."""
    row = np.concatenate([np.full(n, v, np.uint8) for v, n in _OVERFLOW_RUNS])
    return np.repeat(row[None, :, None], 3, axis=2)
