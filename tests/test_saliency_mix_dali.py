"""`fn.saliency_mix` in CPU DALI pipelines: exact against the numpy reference, behaviour, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import PHOTO_DIR
from mix_reference import reference_mix
from nvidia.dali import fn, pipeline_def, types

import dali_saliencymix

dali_saliencymix.load_plugin()  # registers fn.saliency_mix and fn.fine_grained_saliency


def build(pipe_fn, batch_size, threads=2, seed=12, **kwargs):
    p = pipeline_def(
        pipe_fn, batch_size=batch_size, num_threads=threads, device_id=None, seed=seed, **kwargs
    )()
    p.build()
    return p


def arrays(batch):
    return np.stack([np.array(batch[i]) for i in range(len(batch))])


def run_with_draws(
    images,
    labels,
    *,
    num_classes,
    mode,
    smoothing=0.0,
    correct_lam=True,
    alpha=1.0,
    prob=0.8,
    seed=5,
    layout="HWC",
):
    """Feed a numpy batch; draw with DALI; return the operator's outputs and the draws."""
    n = len(images)

    def pipe():
        data = fn.external_source(source=lambda: list(images), layout=layout, batch=True)
        lab = fn.external_source(source=lambda: list(labels), batch=True)
        source = fn.batch_permutation(seed=seed)
        lam = fn.random.beta(alpha=alpha, beta=alpha, seed=seed + 1)
        apply = fn.random.coin_flip(probability=prob, seed=seed + 2)
        outs = fn.saliency_mix(
            data,
            lab,
            source=source,
            lam=lam,
            apply=apply,
            num_classes=num_classes,
            mode=mode,
            label_smoothing=smoothing,
            correct_lam=correct_lam,
            output_mix_info=True,
        )
        return (*outs, source, lam, apply)

    outs = build(pipe, n).run()
    return [arrays(o) for o in outs]


def photo_batch(n, h=96, w=128):
    from PIL import Image

    paths = sorted(PHOTO_DIR.glob("*/*.jpg"))
    photos = [np.asarray(Image.open(p).convert("RGB").resize((w, h))) for p in paths]
    return np.stack([photos[i % len(photos)] for i in range(n)])


@pytest.mark.parametrize("mode", ["elem", "batch"])
@pytest.mark.parametrize("kind", ["photos", "noise", "gray-noise"])
def test_operator_equals_reference(mode, kind, rng) -> None:
    n, classes = 7, 5
    if kind == "photos":
        images = photo_batch(n)
    elif kind == "noise":
        images = rng.integers(0, 256, (n, 45, 61, 3), dtype=np.uint8)
    else:
        images = rng.integers(0, 256, (n, 45, 61, 1), dtype=np.uint8)
    ids = rng.integers(0, classes, (n, 1)).astype(np.int32)
    for smoothing, correct in ((0.0, True), (0.1, False)):
        mixed, soft, boxes, lams, sources, source, lam, apply = run_with_draws(
            images, ids, num_classes=classes, mode=mode, smoothing=smoothing, correct_lam=correct
        )
        ref = reference_mix(images, ids, classes, source, lam, apply, mode, smoothing, correct)
        np.testing.assert_array_equal(mixed, ref[0])
        np.testing.assert_array_equal(soft, ref[1])
        np.testing.assert_array_equal(boxes, ref[2])
        np.testing.assert_array_equal(lams, ref[3])
        np.testing.assert_array_equal(sources, source)
        np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)


def test_soft_label_input_equals_reference(rng) -> None:
    n, classes = 6, 4
    images = rng.integers(0, 256, (n, 33, 40, 3), dtype=np.uint8)
    soft = rng.dirichlet(np.ones(classes), n).astype(np.float32)
    mixed, out, boxes, lams, _, source, lam, apply = run_with_draws(
        images, soft, num_classes=classes, mode="elem", smoothing=0.1
    )
    ref = reference_mix(images, soft, classes, source, lam, apply, "elem", 0.1, True)
    np.testing.assert_array_equal(mixed, ref[0])
    np.testing.assert_array_equal(out, ref[1])


def reader_pipeline(batch_size, *, prob=1.0, alpha=1.0, mode="elem", seed=7, size=64):
    def pipe():
        jpegs, labels = fn.readers.file(
            file_root=str(PHOTO_DIR), name="Reader", random_shuffle=True, seed=seed
        )
        images = fn.decoders.image(jpegs, device="cpu", output_type=types.RGB)
        images = fn.resize(images, size=(size, size))
        return dali_saliencymix.saliency_mix(
            images,
            labels,
            num_classes=4,
            alpha=alpha,
            prob=prob,
            mode=mode,
            seed=seed,
            return_info=True,
        )

    return pipe


@pytest.mark.parametrize("batch_size", [1, 3, 5])
@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
def test_wrapper_batch_sizes_and_alphas(batch_size, alpha) -> None:
    p = build(reader_pipeline(batch_size, alpha=alpha), batch_size)
    for _ in range(3):
        mixed, soft, boxes, lams, sources = (arrays(o) for o in p.run())
        assert mixed.shape == (batch_size, 64, 64, 3) and soft.shape == (batch_size, 4)
        assert soft.dtype == np.float32
        np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
        assert sorted(sources.tolist()) == list(range(batch_size))  # a permutation
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        np.testing.assert_array_equal(lams, (1 - area / 64**2).astype(np.float32))


def test_prob_zero_is_identity_with_one_hot_labels() -> None:
    def pipe():
        jpegs, labels = fn.readers.file(file_root=str(PHOTO_DIR), name="Reader")
        images = fn.resize(fn.decoders.image(jpegs, output_type=types.RGB), size=(50, 70))
        mixed, soft = dali_saliencymix.saliency_mix(images, labels, num_classes=4, prob=0.0)
        return images, labels, mixed, soft

    images, labels, mixed, soft = (arrays(o) for o in build(pipe, 6).run())
    np.testing.assert_array_equal(mixed, images)
    np.testing.assert_array_equal(soft, np.eye(4, dtype=np.float32)[labels.reshape(-1)])


def test_mixing_rate_matches_prob() -> None:
    """With prob=0.3, the count of mixed samples over 800 draws lies within 4.5 sigma."""
    batch, batches, prob = 16, 50, 0.3
    p = build(reader_pipeline(batch, prob=prob, alpha=1.0, size=48), batch)
    mixed = 0
    for _ in range(batches):
        _, _, boxes, lams, _ = (arrays(o) for o in p.run())
        mixed += int(np.count_nonzero(lams < 1.0))
    n = batch * batches
    sigma = math.sqrt(n * prob * (1 - prob))
    # A drawn box is empty only when cut < 2 px (lam > 1 - (2/48)^2): probability < 0.2%.
    assert abs(mixed - n * prob) < 4.5 * sigma + 0.002 * n, (mixed, n * prob, sigma)


def test_same_seed_same_batches_across_runs_and_threads() -> None:
    def run(threads):
        p = build(reader_pipeline(4, prob=0.7, seed=21), 4, threads=threads, seed=99)
        return [[arrays(o) for o in p.run()] for _ in range(3)]

    a, b, c = run(1), run(1), run(3)
    for x, y, z in zip(a, b, c, strict=True):
        for u, v, w in zip(x, y, z, strict=True):
            np.testing.assert_array_equal(u, v)
            np.testing.assert_array_equal(u, w)
    other = build(reader_pipeline(4, prob=0.7, seed=22), 4, seed=99)
    assert any(
        not np.array_equal(u, v)
        for u, v in zip(a[0], [arrays(o) for o in other.run()], strict=True)
    )


def test_checkpoint_restores_following_batches() -> None:
    def make(checkpoint=None):
        kwargs = {"enable_checkpointing": True}
        p = pipeline_def(
            reader_pipeline(4, prob=0.6, seed=None),
            batch_size=4,
            num_threads=2,
            device_id=None,
            seed=1234,
            **kwargs,
        )(checkpoint=checkpoint)
        p.build()
        return p

    first = make()
    for _ in range(3):
        first.run()
    checkpoint = first.checkpoint()
    expected = [[arrays(o) for o in first.run()] for _ in range(3)]
    restored = make(checkpoint)
    got = [[arrays(o) for o in restored.run()] for _ in range(3)]
    for x, y in zip(expected, got, strict=True):
        for u, v in zip(x, y, strict=True):
            np.testing.assert_array_equal(u, v)


def run_bad(images, labels, layout="HWC", **kwargs):
    def pipe():
        data = fn.external_source(source=lambda: images, layout=layout, batch=True)
        lab = fn.external_source(source=lambda: labels, batch=True)
        return dali_saliencymix.saliency_mix(data, lab, **kwargs)

    build(pipe, len(images)).run()


GOOD = [np.zeros((8, 8, 3), np.uint8)] * 2
IDS = [np.array([0], np.int32), np.array([1], np.int32)]


@pytest.mark.parametrize(
    ("images", "labels", "kwargs", "message"),
    [
        (
            [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)],
            IDS,
            {},
            "Crop or resize them to one size",
        ),
        ([np.zeros((8, 8, 3), np.float32)] * 2, IDS, {}, "must be uint8"),
        ([np.zeros((8, 8, 4), np.uint8)] * 2, IDS, {}, "1 (gray) or 3 (RGB) channels"),
        ([np.zeros((0, 8, 3), np.uint8)] * 2, IDS, {}, "non-empty image"),
        (
            GOOD,
            [np.array([0], np.int32), np.array([4], np.int32)],
            {},
            "has class 4, expected 0 <= label < num_classes = 4",
        ),
        (GOOD, [np.array([-1], np.int32)] * 2, {}, "has class -1"),
        (GOOD, [np.zeros(3, np.float32)] * 2, {}, "soft vectors of num_classes = 4"),
        (GOOD, [np.zeros(2, np.int32)] * 2, {}, "expected an integer class id"),
    ],
    ids=[
        "mixed-sizes",
        "float-images",
        "4-channels",
        "empty",
        "label-too-big",
        "label-negative",
        "soft-wrong-length",
        "ids-wrong-shape",
    ],
)
def test_bad_inputs_are_clear_errors(images, labels, kwargs, message) -> None:
    with pytest.raises((RuntimeError, ValueError)) as err:
        run_bad(images, labels, num_classes=4, **kwargs)
    assert "saliency_mix" in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"alpha": -1.0}, "alpha must be > 0"),
        ({"prob": 1.5}, "prob must be in [0, 1]"),
        ({"prob": -0.1}, "prob must be in [0, 1]"),
        ({"label_smoothing": 1.0}, "label_smoothing must be in [0, 1)"),
        ({"num_classes": 0}, "num_classes must be an integer >= 1"),
        ({"cutmix_alpha": 0.0}, "cutmix_alpha must be > 0"),
        ({"mode": "diagonal"}, "mode must be one of 'batch', 'pair', 'elem'"),
        ({"mixup_alpha": 0.5}, "is SaliencyMix (CutMix with saliency boxes), but got mixup_alpha"),
        ({"alpha": 0.5, "cutmix_alpha": 0.5}, "alpha is the former name of cutmix_alpha"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, message) -> None:
    args = {"num_classes": 4, **kwargs}
    with pytest.raises((ValueError, TypeError)) as err:
        run_bad(GOOD, IDS, **args)
    assert str(err.value).startswith("saliency_mix: ") and message in str(err.value)


def test_operator_checks_its_own_arguments() -> None:
    def pipe():
        data = fn.external_source(source=lambda: GOOD, layout="HWC", batch=True)
        lab = fn.external_source(source=lambda: IDS, batch=True)
        mixed, labels = fn.saliency_mix(
            data,
            lab,
            source=fn.batch_permutation(),
            lam=fn.random.uniform(range=[1.5, 2.0]),
            apply=fn.random.coin_flip(),
            num_classes=4,
        )
        return mixed, labels

    with pytest.raises(RuntimeError, match="lam: sample 0 is .*expected a value in \\[0, 1\\]"):
        build(pipe, 2).run()


@pytest.mark.parametrize("row", [[5.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [3e38, 0, 0, 0]])
def test_soft_labels_that_do_not_sum_to_one_are_refused(row) -> None:
    soft = [np.array([0.0, 1.0, 0.0, 0.0], np.float32), np.array(row, np.float32)]
    with pytest.raises(
        RuntimeError, match=r"fn.saliency_mix: input 1 \(labels\): sample 1 sums to"
    ):
        run_bad(GOOD, soft, num_classes=4)
