"""The mixing family (MixUp, CutMix with a random or saliency box, minmax boxes; elem, batch and
pair modes) through the kernels: the numpy path against the numpy reference bit for bit, its
invariants, its errors, and the DALI CPU operator and the PyTorch CPU path against the numpy
path (docs/algorithm.md, "The mixing family")."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from check_dali_gpu import Operators, operator_mix
from kernel_calls import mix_numpy
from mix_reference import reference_family
from nvidia.dali import fn, pipeline_def
from test_saliency_mix_dali import photo_batch

import dali_saliencymix
from dali_saliencymix import MixConfig
from dali_saliencymix._native import c_api
from dali_saliencymix.numpy import MixDraws, draw
from dali_saliencymix.torch import mix as torch_mix

dali_saliencymix.load_plugin()

MODES = ("elem", "batch", "pair")
BOXES = ("saliency", "random")
MINMAX = (None, (0.2, 0.8))
MIXTURES = ("cutmix", "mixup", "both")


def options_for(mode, box, minmax=None, *, classes=5, smoothing=0.1, correct_lam=True):
    return MixConfig(
        num_classes=classes,
        mode=mode,
        box=box,
        cutmix_minmax=minmax,
        label_smoothing=smoothing,
        correct_lam=correct_lam,
        pairing="reverse" if mode == "pair" else "permutation",
    )


def family_draws(rng, n, mode, mixture, prob=0.8):
    """Draws with edge values: lam 0 and 1, box draws 0 and exactly 1, MixUp/CutMix mixtures;
    reverse pairs in pair mode (an involution), a permutation otherwise."""
    source = np.arange(n - 1, -1, -1) if mode == "pair" else rng.permutation(n)
    lam = rng.beta(1.0, 1.0, n).astype(np.float32)
    lam[rng.random(n) < 0.1] = 0.0
    lam[rng.random(n) < 0.1] = 1.0
    apply = (rng.random(n) < prob).astype(np.uint8)
    apply[0] = 1  # batch mode: mixed
    cutmix = {
        "cutmix": np.ones(n, np.uint8),
        "mixup": np.zeros(n, np.uint8),
        "both": (rng.random(n) < 0.5).astype(np.uint8),
    }[mixture]
    box = rng.random((n, 4), dtype=np.float32)
    box[rng.random((n, 4)) < 0.1] = 0.0
    box[rng.random((n, 4)) < 0.1] = 1.0
    return MixDraws(source.astype(np.int32), lam, apply, cutmix, box)


def reference_of(images, labels, options, draws):
    return reference_family(
        images,
        labels,
        num_classes=options.num_classes,
        source=draws.source,
        lam=draws.lam,
        apply=draws.apply,
        cutmix=draws.cutmix,
        box=draws.box,
        mode=options.mode,
        box_kind=options.box,
        minmax=options.cutmix_minmax,
        smoothing=options.label_smoothing,
        correct_lam=options.correct_lam,
        placement=options.placement,
        label_weights=options.label_weights,
    )


def image_batch(kind, rng, n):
    if kind == "photos":
        return photo_batch(n, 64, 80)
    channels = 3 if kind == "noise" else 1
    return rng.integers(0, 256, (n, 37, 53, channels), dtype=np.uint8)


def assert_same(ours, ref):
    """The four outputs (images, labels, boxes, lams) equal; a fifth of either side (the
    destination boxes of the numpy path) is ignored."""
    names = ("images", "labels", "boxes", "lams")
    for name, a, b in zip(names, ours[:4], ref[:4], strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("mixture", MIXTURES)
@pytest.mark.parametrize("minmax", MINMAX, ids=["no-minmax", "minmax"])
@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["photos", "noise", "gray-noise"])
def test_numpy_path_equals_reference(kind, mode, box, minmax, mixture, rng) -> None:
    n = 8 if kind == "photos" else 7  # odd: the middle sample pairs with itself
    images = image_batch(kind, rng, n)
    soft = kind == "noise"
    labels = rng.dirichlet(np.ones(5), n).astype(np.float32) if soft else rng.integers(0, 5, n)
    for trial in range(3):
        options = options_for(mode, box, minmax, correct_lam=trial != 1, smoothing=0.1 * trial)
        draws = family_draws(rng, n, mode, mixture)
        ours = mix_numpy(images, labels, draws=draws, options=options)
        assert_same(ours, reference_of(images, labels, options, draws))
        np.testing.assert_allclose(ours[1].sum(axis=1), 1.0, rtol=2e-6)


def test_all_box_draws_at_the_edges(rng) -> None:
    """u = 0 and u = 1 (clamped to the last index) for every box kind and mode."""
    n = 6
    images = rng.integers(0, 256, (n, 21, 34, 3), dtype=np.uint8)
    labels = np.arange(n) % 5
    for mode, box, minmax, u in itertools.product(MODES, BOXES, MINMAX, (0.0, 1.0)):
        options = options_for(mode, box, minmax)
        draws = MixDraws(
            np.arange(n - 1, -1, -1, dtype=np.int32),
            np.linspace(0, 1, n, dtype=np.float32),
            np.ones(n, np.uint8),
            None,
            np.full((n, 4), u, np.float32),
        )
        ours = mix_numpy(images, labels, draws=draws, options=options)
        assert_same(ours, reference_of(images, labels, options, draws))


def test_invariants(rng) -> None:
    n, h, w = 10, 41, 57
    images = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    labels = np.arange(n) % 5
    for mode, box, minmax in itertools.product(MODES, BOXES, MINMAX):
        options = options_for(mode, box, minmax, smoothing=0.0)
        draws = family_draws(rng, n, mode, "both")
        mixed, soft, boxes, lams, dest = mix_numpy(images, labels, draws=draws, options=options)
        np.testing.assert_array_equal(dest, boxes)  # source_peak: the box stays in place
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2:] <= (h, w))
        assert np.all(boxes[:, :2] <= boxes[:, 2:])
        np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=2e-6)
        for i in range(n):
            g = {"elem": i, "batch": 0, "pair": min(i, int(draws.source[i]))}[mode]
            j = int(draws.source[i])
            y1, x1, y2, x2 = boxes[i]
            if not draws.apply[g]:
                np.testing.assert_array_equal(mixed[i], images[i])
                assert lams[i] == 1 and not boxes[i].any()
            elif not draws.cutmix[g]:  # MixUp: the drawn lam, no box
                assert lams[i] == draws.lam[g] and not boxes[i].any()
                blend = images[i] * np.float64(lams[i]) + images[j] * (1 - np.float64(lams[i]))
                assert np.abs(mixed[i] - blend).max() <= 0.5 + 1e-3
            else:  # CutMix: the box from the source, the rest the target, lam its share
                inside = np.zeros((h, w), bool)
                inside[y1:y2, x1:x2] = True
                np.testing.assert_array_equal(mixed[i][inside], images[j][inside])
                np.testing.assert_array_equal(mixed[i][~inside], images[i][~inside])
                if options.correct_lam or minmax is not None:
                    assert lams[i] == np.float32(1 - (y2 - y1) * (x2 - x1) / (h * w))
            expected = np.zeros(5, np.float32)
            expected[labels[i]] += lams[i]
            expected[labels[j]] += np.float32(1) - lams[i]
            np.testing.assert_allclose(soft[i], expected, atol=1e-6)
        if mode == "batch" and box == "random" and draws.cutmix[0]:
            assert (boxes == boxes[0]).all()  # one box for the batch


@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("minmax", MINMAX, ids=["no-minmax", "minmax"])
def test_pair_mode_is_symmetric(box, minmax, rng) -> None:
    """Sample N-1-i of a batch is what sample i becomes when the batch is reversed: one draw
    mixes each pair both ways."""
    n = 9
    images = photo_batch(n, 48, 56)
    labels = rng.integers(0, 5, n)
    options = options_for("pair", box, minmax)
    draws = family_draws(rng, n, "pair", "both", prob=0.9)
    ours = mix_numpy(images, labels, draws=draws, options=options)
    swapped = mix_numpy(images[::-1].copy(), labels[::-1].copy(), draws=draws, options=options)
    for a, b in zip(ours, swapped, strict=True):
        np.testing.assert_array_equal(a, b[::-1])
    if box == "random":  # the random box is shared by the pair
        np.testing.assert_array_equal(ours[2], ours[2][::-1])


def test_mixup_rounds_half_to_even() -> None:
    """a * 0.5 + b * 0.5 on .5 values goes to the even neighbour (np.rint), as timm."""
    a = np.arange(0, 256, dtype=np.uint8).reshape(1, 16, 16, 1)
    b = np.roll(a, 1).astype(np.uint8)
    images = np.concatenate([a, b])
    options = options_for("elem", "saliency")
    draws = MixDraws(
        np.array([1, 0], np.int32),
        np.full(2, 0.5, np.float32),
        np.ones(2, np.uint8),
        np.zeros(2, np.uint8),
    )
    mixed = mix_numpy(images, np.array([0, 1]), draws=draws, options=options)[0]
    expected = np.rint((a.astype(np.float32) + b.astype(np.float32)) * np.float32(0.5))
    np.testing.assert_array_equal(mixed[0], expected[0].astype(np.uint8))
    assert any(int(x) % 2 == 1 for x in (a + b).reshape(-1)[:10])  # ties did occur


BASE = {
    "images": np.zeros((4, 10, 10, 3), np.uint8),
    "labels": np.array([0, 1, 2, 3]),
}


def bad_call(options=None, **draw_changes):
    draws = {
        "source": np.array([3, 2, 1, 0], np.int32),
        "lam": np.full(4, 0.5, np.float32),
        "apply": np.ones(4, np.uint8),
        "cutmix": None,
        "box": np.full((4, 4), 0.5, np.float32),
    }
    draws.update(draw_changes)
    options = options or options_for("elem", "random")
    return mix_numpy(BASE["images"], BASE["labels"], draws=MixDraws(**draws), options=options)


@pytest.mark.parametrize(
    ("options", "changes", "message"),
    [
        (
            options_for("pair", "random"),
            {"source": np.array([1, 2, 3, 0], np.int32)},
            'source: mode "pair" needs pairs that mix both ways (source[source[i]] == i, e.g. '
            "the reverse pairing N-1-i), but sample 0 pairs with 1 and sample 1 with 2",
        ),
        (None, {"box": None}, 'box_draw is required with box="random" or cutmix_minmax'),
        (
            options_for("elem", "saliency", (0.2, 0.8)),
            {"box": None},
            'box_draw is required with box="random" or cutmix_minmax',
        ),
        (
            None,
            {"box": np.array([[0.5] * 4, [0.5, 0.5, 1.5, 0.5]] + [[0.5] * 4] * 2, np.float32)},
            "box_draw: sample 1, value 2 is 1.5, expected a value in [0, 1]",
        ),
        (
            None,
            {"box": np.array([[np.nan] * 4] * 4, np.float32)},
            "box_draw: sample 0, value 0 is nan, expected a value in [0, 1]",
        ),
        (None, {"box": np.zeros((4, 3), np.float32)}, "box: expected shape (4, 4), got (4, 3)"),
        (
            options_for("elem", "random", (0.1, 0.15)),
            {},
            "cutmix_minmax (0.1, 0.15) leaves no box size for images of 10 x 10",
        ),
        (None, {"cutmix": np.array([1, 2, 0, 1])}, "cutmix: sample 1 is 2, expected 0 (MixUp)"),
        (None, {"cutmix": np.ones(4, np.float32)}, "draws.cutmix: expected integers or bools"),
        (None, {"cutmix": np.ones(3, np.uint8)}, "cutmix: expected 4 values, got 3"),
    ],
    ids=[
        "pair-not-involution",
        "random-without-box-draws",
        "minmax-without-box-draws",
        "box-draw-above-1",
        "box-draw-nan",
        "box-draw-shape",
        "minmax-empty-range",
        "cutmix-2",
        "cutmix-float",
        "cutmix-length",
    ],
)
def test_bad_draws_and_options_are_clear_errors(options, changes, message) -> None:
    with pytest.raises(ValueError) as err:
        bad_call(options, **changes)
    assert message in str(err.value), str(err.value)


def test_box_draws_are_not_needed_for_saliency_boxes() -> None:
    bad_call(options_for("elem", "saliency"), box=None)
    bad_call(options_for("elem", "saliency"), box=np.full((4, 4), 7.0, np.float32))  # not read


def test_c_api_checks_the_cutmix_flags_itself() -> None:
    """The C API refuses a cutmix flag other than 0 or 1 (the Python path checks first)."""
    n = 2
    images = np.zeros((n, 4, 4, 3), np.uint8)
    ids = np.array([0, 1], np.int32)
    source, lam = np.array([1, 0], np.int32), np.full(n, 0.5, np.float32)
    apply, cutmix = np.ones(n, np.uint8), np.array([1, 3], np.uint8)
    out = np.empty_like(images)
    labels = np.empty((n, 2), np.float32)
    with pytest.raises(ValueError, match=r"dsm_mix_cpu: cutmix: sample 1 is 3, expected 0"):
        c_api.mix(
            images=images.ctypes.data,
            shape=images.shape,
            label_ids=ids.ctypes.data,
            soft_labels=None,
            options=MixConfig(num_classes=2),
            source=source.ctypes.data,
            lam=lam.ctypes.data,
            apply=apply.ctypes.data,
            cutmix=cutmix.ctypes.data,
            box_draw=None,
            out_images=out.ctypes.data,
            out_labels=labels.ctypes.data,
            out_boxes=None,
            out_lam=None,
        )


def test_draws_follow_timms_distributions() -> None:
    n = 20_000
    options = MixConfig(
        num_classes=3, mixup_alpha=0.5, cutmix_alpha=1.0, switch_prob=0.3, prob=0.6, box="random"
    )
    d = draw(n, options, seed=2)
    assert sorted(d.source.tolist()) == list(range(n))
    sigma = np.sqrt(0.25 / n)
    assert abs(d.apply.mean() - 0.6) < 4.5 * sigma and abs(d.cutmix.mean() - 0.3) < 4.5 * sigma
    cut, mixup = d.lam[d.cutmix == 1], d.lam[d.cutmix == 0]
    assert abs(cut.var() - 1 / 12) < 0.01 and abs(mixup.var() - 0.125) < 0.01  # Beta(1), (0.5)
    assert d.box.shape == (n, 4) and d.box.dtype == np.float32 and 0 <= d.box.min() < 1e-3
    assert d.box.max() < 1 and abs(d.box.mean() - 0.5) < 0.01
    reverse = draw(6, MixConfig(num_classes=3, mode="pair", pairing="reverse"), seed=1)
    np.testing.assert_array_equal(reverse.source, [5, 4, 3, 2, 1, 0])
    assert reverse.cutmix is None and reverse.box is None  # SaliencyMix: CutMix, saliency box
    only_mixup = draw(5, MixConfig(num_classes=3, mixup_alpha=1.0, cutmix_alpha=0.0), seed=1)
    assert not only_mixup.cutmix.any()
    off = draw(5, MixConfig(num_classes=3, enabled=False), seed=1)
    assert not off.apply.any()


# ---- The DALI CPU operator and the PyTorch CPU path equal the numpy path ---------------------


def run_operator(images, labels, options, draws, *, with_source=True, dtypes=None):
    """fn.saliency_mix (CPU) fed the draws as argument inputs; its outputs (five, or six with
    placement="target_background") as numpy arrays: the GPU check's function, on the CPU."""
    return operator_mix(
        Operators("cpu"), images, labels, options, draws, with_source=with_source, dtypes=dtypes
    )


DALI_CASES = [
    ("elem", "random", None, "both"),
    ("batch", "random", None, "both"),
    ("pair", "random", None, "both"),
    ("elem", "saliency", None, "both"),
    ("batch", "saliency", (0.3, 0.7), "cutmix"),
    ("pair", "saliency", None, "cutmix"),
    ("elem", "random", (0.2, 0.8), "both"),
    ("pair", "random", (0.3, 0.7), "mixup"),
]


@pytest.mark.parametrize(("mode", "box", "minmax", "mixture"), DALI_CASES)
def test_dali_operator_equals_numpy_path(mode, box, minmax, mixture, rng) -> None:
    n = 7
    images = photo_batch(n, 48, 64)
    ids = rng.integers(0, 5, (n, 1)).astype(np.int32)
    options = options_for(mode, box, minmax)
    draws = family_draws(rng, n, mode, mixture)
    got = run_operator(images, ids, options, draws)
    ours = mix_numpy(images, ids, draws=draws, options=options)
    assert_same(got[:4], ours)
    np.testing.assert_array_equal(got[4], draws.source)


def test_dali_minmax_is_read_as_written(rng) -> None:
    """cutmix_minmax (0.3, 0.7) reaches the operator as float32 (0.699999988): read as 0.7,
    int(10 * 0.7) is 7 as in timm, not 6."""
    n = 4
    images = rng.integers(0, 256, (n, 10, 10, 3), dtype=np.uint8)
    ids = np.arange(n, dtype=np.int32).reshape(n, 1)
    options = options_for("elem", "random", (0.3, 0.7))
    draws = family_draws(rng, n, "elem", "cutmix", prob=1.0)
    draws.apply[:] = 1
    draws.box[:, 0] = 1.0  # the largest side: hi - 1 = int(10 * 0.7) - 1 = 6
    got = run_operator(images, ids, options, draws)
    assert_same(got[:4], mix_numpy(images, ids, draws=draws, options=options))
    np.testing.assert_array_equal(got[2][:, 2] - got[2][:, 0], 6)


def test_dali_reverse_pairing_without_source(rng) -> None:
    n = 6
    images = photo_batch(n, 40, 40)
    ids = rng.integers(0, 5, (n, 1)).astype(np.int32)
    for mode in ("elem", "pair"):
        options = options_for(mode, "random")
        draws = family_draws(rng, n, "pair", "both")  # reverse pairs
        got = run_operator(images, ids, options, draws, with_source=False)
        assert_same(got[:4], mix_numpy(images, ids, draws=draws, options=options))
        np.testing.assert_array_equal(got[4], np.arange(n)[::-1])


@pytest.mark.parametrize(
    "dtypes",
    [{"cutmix": np.bool_}, {"cutmix": np.int64}, {"cutmix": np.uint8}, {"box_draw": np.float64}],
    ids=lambda d: "-".join(f"{k}:{np.dtype(v).name}" for k, v in d.items()),
)
def test_dali_accepts_the_draw_dtypes(dtypes, rng) -> None:
    n = 4
    images = rng.integers(0, 256, (n, 20, 24, 3), dtype=np.uint8)
    ids = np.arange(n, dtype=np.int32).reshape(n, 1)
    options = options_for("elem", "random")
    draws = family_draws(rng, n, "elem", "both")
    got = run_operator(images, ids, options, draws, dtypes=dtypes)
    assert_same(got[:4], mix_numpy(images, ids, draws=draws, options=options))


def run_bad_operator(n=4, **kwargs):
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (10, 10, 3), dtype=np.uint8) for _ in range(n)]

    def feed(values):
        return fn.external_source(source=lambda: values, batch=True)

    def pipe():
        args = {
            "lam": feed([np.float32(0.5)] * n),
            "apply": feed([np.int32(1)] * n),
            "num_classes": 4,
        }
        for key, value in kwargs.items():
            args[key] = feed(value) if key in ("source", "cutmix", "box_draw") else value
        return tuple(
            fn.saliency_mix(feed(images), feed([np.array([i], np.int32) for i in range(n)]), **args)
        )

    p = pipeline_def(pipe, batch_size=n, num_threads=1, device_id=None)()
    p.build()
    p.run()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"box": "random"}, 'box_draw is required with box="random" or cutmix_minmax'),
        ({"cutmix_minmax": [0.2, 0.8]}, "box_draw is required"),
        ({"mode": "pair", "source": [np.int32(v) for v in (1, 2, 3, 0)]}, 'mode "pair" needs'),
        ({"cutmix": [np.int32(v) for v in (1, 1, 2, 0)]}, "cutmix: sample 2 is 2, expected 0"),
        ({"cutmix": [np.float32(1)] * 4}, "argument `cutmix` must be an integer type or bool"),
        (
            {"box": "random", "box_draw": [np.full(3, 0.5, np.float32)] * 4},
            "argument `box_draw`, sample 0: expected 4 values (shape (4,)), got shape (3,)",
        ),
        (
            {"box": "random", "box_draw": [np.full(4, 0.5, np.int32)] * 4},
            "argument `box_draw` must be float32 (as fn.random.uniform gives)",
        ),
        (
            {"box": "random", "box_draw": [np.array([0.5, 0.5, 0.5, -0.5], np.float32)] * 4},
            "box_draw: sample 0, value 3 is -0.5, expected a value in [0, 1]",
        ),
        ({"cutmix_minmax": [0.2, 0.5, 0.8]}, "cutmix_minmax must be empty or two numbers"),
        ({"cutmix_minmax": [0.8, 0.2]}, "cutmix_minmax must be (min, max) with 0 < min < max"),
        (
            {"cutmix_minmax": [0.1, 0.15], "box_draw": [np.full(4, 0.5, np.float32)] * 4},
            "cutmix_minmax (0.1, 0.15) leaves no box size for images of 10 x 10",
        ),
        ({"box": "square"}, 'box must be "saliency" or "random", got "square"'),
        ({"mode": "diagonal"}, 'mode must be "elem", "batch" or "pair", got "diagonal"'),
    ],
    ids=[
        "random-without-box-draws",
        "minmax-without-box-draws",
        "pair-not-involution",
        "cutmix-2",
        "cutmix-float",
        "box-draw-shape",
        "box-draw-int",
        "box-draw-negative",
        "minmax-three",
        "minmax-order",
        "minmax-empty-range",
        "box-name",
        "mode-name",
    ],
)
def test_dali_refuses_bad_draws_and_options(kwargs, message) -> None:
    with pytest.raises(RuntimeError) as err:
        run_bad_operator(**kwargs)
    text = str(err.value)
    assert "fn.saliency_mix" in text and message in text, text


@pytest.mark.parametrize(("mode", "box", "minmax", "mixture"), DALI_CASES[:4] + DALI_CASES[6:])
def test_torch_cpu_path_equals_numpy_path(mode, box, minmax, mixture, rng) -> None:
    n = 7
    images = photo_batch(n, 40, 52)
    labels = rng.integers(0, 5, n)
    options = options_for(mode, box, minmax)
    draws = family_draws(rng, n, mode, mixture)
    got = torch_mix(
        torch.from_numpy(images),
        torch.from_numpy(labels),
        options=options,
        draws=draws,
        return_info=True,
    )
    ours = mix_numpy(images, labels, draws=draws, options=options)
    assert_same([t.numpy() for t in got[:4]], ours)
    np.testing.assert_array_equal(got[4].numpy(), draws.source)


def test_torch_mix_draws_itself_and_takes_keyword_options(rng) -> None:
    images = torch.from_numpy(photo_batch(6, 32, 40))
    labels = torch.arange(6) % 3
    kwargs = {"num_classes": 3, "mixup_alpha": 0.8, "cutmix_alpha": 1.0, "box": "random"}
    a = torch_mix(images, labels, seed=5, return_info=True, **kwargs)
    b = torch_mix(images, labels, options=MixConfig(**kwargs), seed=5, return_info=True)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    draws = draw(6, MixConfig(**kwargs), seed=5)
    ours = mix_numpy(images.numpy(), labels.numpy(), draws=draws, options=MixConfig(**kwargs))
    assert_same([t.numpy() for t in a[:4]], ours)
    with pytest.raises(TypeError, match="not both"):
        torch_mix(images, labels, options=MixConfig(**kwargs), num_classes=3)
