"""SaliencyMix steps of the kernels (peak -> box -> paste -> labels) against a numpy reference.

The reference follows docs/algorithm.md ("SaliencyMix") with OpenCV's saliency for the peaks;
the random draws (permutation, lambdas, coin flips) are given, so both sides must agree exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import opencv_saliency
from kernel_calls import saliency_mix_numpy
from mix_reference import reference_mix


def draws(rng: np.random.Generator, n: int, alpha: float, prob: float):
    return (
        rng.permutation(n).astype(np.int32),
        rng.beta(alpha, alpha, n).astype(np.float32),
        (rng.random(n) < prob).astype(np.uint8),
    )


@pytest.mark.parametrize("mode", ["elem", "batch"])
@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
@pytest.mark.parametrize("n", [1, 5, 8])
def test_matches_reference_on_photo_crops(photos, rng, mode, alpha, n) -> None:
    colour = [p for p in photos if p.ndim == 3]
    images = np.stack(
        [colour[i % len(colour)][7 * i : 7 * i + 96, 11 * i : 11 * i + 128] for i in range(n)]
    )
    labels = rng.integers(0, 10, n).astype(np.int32)
    source, lam, apply = draws(rng, n, alpha, 0.8)
    for smoothing, correct in ((0.0, True), (0.1, True), (0.1, False)):
        ours = saliency_mix_numpy(
            images,
            labels,
            num_classes=10,
            source=source,
            lam=lam,
            apply=apply,
            mode=mode,
            label_smoothing=smoothing,
            correct_lam=correct,
        )
        ref = reference_mix(images, labels, 10, source, lam, apply, mode, smoothing, correct)
        for a, b in zip(ours, ref, strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(ours[1].sum(axis=1), 1.0, rtol=1e-6)


def test_invariants_on_random_images(rng) -> None:
    n, h, w = 6, 57, 83
    images = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    labels = np.arange(n, dtype=np.int32)
    source, lam, _ = draws(rng, n, 1.0, 1.0)
    apply = np.ones(n, np.uint8)
    mixed, soft, boxes, weights = saliency_mix_numpy(
        images, labels, num_classes=n, source=source, lam=lam, apply=apply
    )
    for i in range(n):
        y1, x1, y2, x2 = boxes[i]
        inside = np.zeros((h, w), bool)
        inside[y1:y2, x1:x2] = True
        np.testing.assert_array_equal(mixed[i][inside], images[source[i]][inside])
        np.testing.assert_array_equal(mixed[i][~inside], images[i][~inside])
        assert weights[i] == np.float32(1 - (y2 - y1) * (x2 - x1) / (h * w))
        sal = opencv_saliency(images[source[i]])
        cy, cx = np.unravel_index(int(np.argmax(sal)), sal.shape)
        assert y1 <= cy <= y2 and x1 <= cx <= x2  # centred on the source's peak, clipped


def test_prob_zero_returns_inputs_and_one_hot(rng) -> None:
    images = rng.integers(0, 256, (4, 20, 30, 3), dtype=np.uint8)
    labels = np.array([3, 0, 2, 3], np.int32)
    source, lam, _ = draws(rng, 4, 1.0, 0.0)
    mixed, soft, boxes, weights = saliency_mix_numpy(
        images, labels, num_classes=5, source=source, lam=lam, apply=np.zeros(4, np.uint8)
    )
    np.testing.assert_array_equal(mixed, images)
    np.testing.assert_array_equal(soft, np.eye(5, dtype=np.float32)[labels])
    assert not boxes.any() and np.all(weights == 1.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": np.array([0, 5], np.int32)}, "expected 0 <= label < num_classes = 5"),
        ({"labels": np.array([-1, 0], np.int32)}, "has class -1"),
        ({"source": np.array([0, 2], np.int32)}, "expected an index in [0, 2)"),
        ({"lam": np.array([0.5, 1.5], np.float32)}, "expected a value in [0, 1]"),
        ({"label_smoothing": 1.0}, "label_smoothing must be in [0, 1)"),
        ({"num_classes": 0}, "num_classes must be an integer >= 1"),
        ({"mode": "diagonal"}, "mode must be one of 'batch', 'pair', 'elem'"),
        ({"mode": "pair", "source": np.array([0, 0], np.int32)}, 'mode "pair" needs pairs'),
        ({"images": np.zeros((2, 4, 4, 4), np.uint8)}, "1 (gray) or 3 (RGB) channels"),
        ({"images": np.zeros((2, 4, 4, 3), np.float32)}, "expected a uint8 image"),
    ],
)
def test_bad_arguments_are_clear_errors(change, message) -> None:
    args = {
        "images": np.zeros((2, 4, 4, 3), np.uint8),
        "labels": np.array([0, 1], np.int32),
        "num_classes": 5,
        "source": np.array([1, 0], np.int32),
        "lam": np.array([0.5, 0.5], np.float32),
        "apply": np.ones(2, np.uint8),
    }
    args.update(change)
    images, labels = args.pop("images"), args.pop("labels")
    # Python's checks say "saliency_mix: ", the C API's "dsm_mix_cpu: ".
    with pytest.raises(ValueError, match="^(numpy.mix|MixConfig): ") as err:
        saliency_mix_numpy(images, labels, **args)
    assert message in str(err.value)


def test_soft_labels_equal_class_ids_as_one_hot(rng) -> None:
    n, classes = 6, 7
    images = rng.integers(0, 256, (n, 40, 50, 3), dtype=np.uint8)
    ids = rng.integers(0, classes, n).astype(np.int32)
    source, lam, apply = draws(rng, n, 1.0, 0.7)
    for smoothing in (0.0, 0.1):
        by_id = saliency_mix_numpy(
            images,
            ids[:, None],
            num_classes=classes,
            source=source,
            lam=lam,
            apply=apply,
            label_smoothing=smoothing,
        )
        one_hot = np.eye(classes, dtype=np.float32)[ids]
        by_soft = saliency_mix_numpy(
            images,
            one_hot,
            num_classes=classes,
            source=source,
            lam=lam,
            apply=apply,
            label_smoothing=smoothing,
        )
        for a, b in zip(by_id, by_soft, strict=True):
            np.testing.assert_array_equal(a, b)


def test_soft_labels_mix_linearly(rng) -> None:
    n, classes = 4, 5
    images = rng.integers(0, 256, (n, 30, 30, 3), dtype=np.uint8)
    soft = rng.dirichlet(np.ones(classes), n).astype(np.float32)
    source, lam, apply = draws(rng, n, 1.0, 1.0)
    _, mixed, _, weights = saliency_mix_numpy(
        images, soft, num_classes=classes, source=source, lam=lam, apply=apply
    )
    expected = soft * weights[:, None] + soft[source] * (np.float32(1) - weights[:, None])
    np.testing.assert_array_equal(mixed, expected)


def test_soft_labels_of_wrong_length_are_refused(rng) -> None:
    with pytest.raises(ValueError, match=r"expected soft labels of shape \(2, 5\)"):
        saliency_mix_numpy(
            np.zeros((2, 4, 4, 3), np.uint8),
            np.zeros((2, 4), np.float32),
            num_classes=5,
            source=np.array([1, 0]),
            lam=np.ones(2),
            apply=np.ones(2),
        )
