"""Shared fixtures: the shipped photos and OpenCV's saliency as the reference."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import dali_saliencymix

# The GPU checks' modules (tests/gpu/check_*.py) share their comparison code with the suite.
sys.path.insert(0, str(Path(__file__).resolve().parent / "gpu"))

PHOTO_DIR = Path(dali_saliencymix.__file__).resolve().parent / "data" / "photos"

# The trainer at its smallest: a tiny model on the CPU, 32x32 crops, batches of 4, one worker.
TINY_TRAINER = ("--batch-size", "4", "--arch", "tiny", "--cpu", "--crop", "32", "--workers", "1")


def photo_paths() -> list[Path]:
    paths = sorted(PHOTO_DIR.glob("*/*.jpg"))
    assert len(paths) >= 5, f"expected the shipped photos in {PHOTO_DIR}"
    return paths


def load_photo(path: Path) -> np.ndarray:
    """The photo as uint8 RGB (HWC), or HW for a gray JPEG."""
    return np.asarray(Image.open(path))


def opencv_saliency(image: np.ndarray) -> np.ndarray:
    """OpenCV's float32 fine-grained saliency of an RGB (HWC) or gray image, on its BGR copy."""
    colour = image.ndim == 3 and image.shape[2] == 3
    bgr = np.ascontiguousarray(image[..., ::-1]) if colour else image
    ok, saliency = cv2.saliency.StaticSaliencyFineGrained_create().computeSaliency(bgr)
    assert ok
    return saliency


def opencv_saliency_u8(image: np.ndarray) -> np.ndarray:
    """OpenCV's map times 255 as uint8 (its float k/255 round-trips exactly)."""
    return (opencv_saliency(image) * 255).astype(np.uint8)


def run_python(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run Python code in a child process started outside the source tree, so that it imports
    the installed package as a user's process does (a PYTHONPATH still takes precedence)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tempfile.gettempdir(),
        check=False,
    )


@pytest.fixture(scope="session")
def photos() -> list[np.ndarray]:
    return [load_photo(p) for p in photo_paths()]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261126)
