"""Content-aware CutMix (docs/algorithm.md, "Content-aware placement and label weights"):
placement="target_background" and label_weights="saliency" through the kernels, against the
numpy reference bit for bit, their invariants (the destination inside the image, no grid
position covering less target saliency, ties to the first, weights summing to 1), the defaults
unchanged, the DALI CPU operator (six outputs) and its checkpoints, the PyTorch CPU path, and
the refusals of bad option values."""

from __future__ import annotations

import ctypes
import dataclasses
import itertools

import numpy as np
import pytest
import torch
from conftest import PHOTO_DIR, opencv_saliency_u8
from kernel_calls import mix_numpy
from mix_reference import grid_positions, mass
from nvidia.dali import fn, pipeline_def, types
from test_mix_family_kernels import (
    family_draws,
    image_batch,
    options_for,
    reference_of,
    run_operator,
)
from test_saliency_mix_dali import arrays, photo_batch

import dali_saliencymix
from dali_saliencymix import MixConfig
from dali_saliencymix._native import c_api
from dali_saliencymix.numpy import MixDraws, saliency_map
from dali_saliencymix.torch import mix as torch_mix

dali_saliencymix.load_plugin()

MODES = ("elem", "batch", "pair")
PLACEMENTS = ("source_peak", "target_background")
WEIGHTS = ("area", "saliency")
BOX_KINDS = (("saliency", None), ("random", None), ("saliency", (0.3, 0.7)), ("random", (0.2, 0.8)))
NAMES = ("images", "labels", "boxes", "lams", "dest_boxes")


def content_options(mode, box, minmax, placement, weights, **kwargs):
    return dataclasses.replace(
        options_for(mode, box, minmax, **kwargs), placement=placement, label_weights=weights
    )


def assert_all_same(ours, ref):
    for name, a, b in zip(NAMES, ours, ref, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)


def flat_batch(rng, n, h=40, w=48):
    """Flat images (saliency 0 everywhere) of random grey levels, with one noisy image in the
    middle: flat targets and flat sources next to textured ones."""
    images = np.repeat(rng.integers(0, 256, (n, 1, 1, 3), dtype=np.uint8), h, 1).repeat(w, 2)
    images[n // 2] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return images


def batch_of(kind, rng, n):
    return flat_batch(rng, n) if kind == "flat" else image_batch(kind, rng, n)


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize(("box", "minmax"), BOX_KINDS, ids=lambda v: str(v))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["photos", "noise", "gray-noise", "flat"])
def test_numpy_path_equals_reference(kind, mode, box, minmax, placement, weights, rng) -> None:
    n = 8 if kind == "photos" else 7  # odd: the middle sample pairs with itself
    images = batch_of(kind, rng, n)
    soft = kind in ("noise", "flat")
    labels = rng.dirichlet(np.ones(5), n).astype(np.float32) if soft else rng.integers(0, 5, n)
    for trial in range(2):
        options = content_options(
            mode,
            box,
            minmax,
            placement,
            weights,
            correct_lam=trial == 0,
            smoothing=0.1 * trial,
        )
        draws = family_draws(rng, n, mode, "both" if trial else "cutmix", prob=0.9)
        ours = mix_numpy(images, labels, draws=draws, options=options)
        assert_all_same(ours, reference_of(images, labels, options, draws))


def grid_costs(saliency, h, w):
    """{(ty, tx): target mass covered} over every grid position of a h x w box, brute force."""
    return {
        (ty, tx): mass(saliency, ty, tx, ty + h, tx + w)
        for ty in grid_positions(saliency.shape[0], h)
        for tx in grid_positions(saliency.shape[1], w)
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("box", ["saliency", "random"])
def test_invariants(mode, box, rng) -> None:
    n, h, w = 9, 61, 75
    noise = rng.integers(0, 256, (4, h, w, 3), dtype=np.uint8)
    images = np.concatenate([photo_batch(5, h, w), noise])
    labels = np.arange(n) % 5
    options = content_options(mode, box, None, "target_background", "saliency", smoothing=0.0)
    draws = family_draws(rng, n, mode, "both", prob=0.9)
    mixed, soft, boxes, lams, dests = mix_numpy(images, labels, draws=draws, options=options)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=2e-6)
    assert np.all((lams >= 0) & (lams <= 1))
    for i in range(n):
        j = int(draws.source[i])
        g = {"elem": i, "batch": 0, "pair": min(i, j)}[mode]
        y1, x1, y2, x2 = (int(v) for v in boxes[i])
        ty, tx, ty2, tx2 = (int(v) for v in dests[i])
        cutmix = draws.apply[g] and draws.cutmix[g]
        if not cutmix or (y2 - y1) * (x2 - x1) == 0:
            assert not dests[i].any()
            if not cutmix:
                assert not boxes[i].any()
            continue
        # Inside the image, the size of the source box, the patch there and the target elsewhere.
        assert 0 <= ty and ty2 <= h and 0 <= tx and tx2 <= w
        assert (ty2 - ty, tx2 - tx) == (y2 - y1, x2 - x1)
        inside = np.zeros((h, w), bool)
        inside[ty:ty2, tx:tx2] = True
        np.testing.assert_array_equal(mixed[i][ty:ty2, tx:tx2], images[j][y1:y2, x1:x2])
        np.testing.assert_array_equal(mixed[i][~inside], images[i][~inside])
        # No grid position covers less target saliency; among equals, the first in row-major order.
        target = opencv_saliency_u8(images[i])
        costs = grid_costs(target, y2 - y1, x2 - x1)
        least = min(costs.values())
        assert costs[(ty, tx)] == least
        assert (ty, tx) == min(k for k, v in costs.items() if v == least)
        # The weight by content.
        visible = mass(target, 0, 0, h, w) - costs[(ty, tx)]
        pasted = mass(opencv_saliency_u8(images[j]), y1, x1, y2, x2)
        if visible + pasted:
            assert lams[i] == np.float32(visible / (visible + pasted))
        expected = np.zeros(5, np.float32)
        expected[labels[i]] += lams[i]
        expected[labels[j]] += np.float32(1) - lams[i]
        np.testing.assert_allclose(soft[i], expected, atol=1e-6)


def test_grid_includes_the_far_edges() -> None:
    assert grid_positions(64, 20) == [0, 8, 16, 24, 32, 40, 44]
    assert grid_positions(64, 24) == [0, 8, 16, 24, 32, 40]
    assert grid_positions(10, 10) == [0]


def test_salient_corner_sends_the_patch_to_the_far_corner() -> None:
    """A textured top-left quarter on a flat target: the 30 x 35 patch goes to the bottom-right
    corner (30, 35), the last grid position on both axes (35 is off the stride-8 grid)."""
    rng = np.random.default_rng(3)
    h, w = 60, 70
    target = np.full((h, w, 3), 128, np.uint8)
    target[:30, :35] = rng.integers(0, 256, (30, 35, 3), dtype=np.uint8)
    images = np.stack([target, photo_batch(1, h, w)[0]])
    options = content_options("elem", "random", None, "target_background", "area")
    draws = MixDraws(
        np.array([1, 0], np.int32),
        np.full(2, 0.75, np.float32),
        np.ones(2, np.uint8),
        None,
        np.full((2, 4), 0.5, np.float32),  # centre (30, 35): the box is not clipped
    )
    _, _, boxes, _, dests = mix_numpy(images, np.array([0, 1]), draws=draws, options=options)
    np.testing.assert_array_equal(boxes[0], [15, 18, 45, 53])  # 30 x 35
    np.testing.assert_array_equal(dests[0], [30, 35, 60, 70])
    assert grid_positions(h, 30)[-1] == 30 and grid_positions(w, 35)[-2:] == [32, 35]


def test_flat_target_ties_go_to_the_top_left_and_flat_maps_weigh_by_area(rng) -> None:
    """A flat target covers no saliency anywhere: every grid position ties and the first, (0, 0),
    is taken. With both maps flat the saliency weight falls back to the area weight."""
    n, h, w = 4, 40, 48
    images = np.repeat(np.arange(10, 50, 10, dtype=np.uint8).reshape(n, 1, 1, 1), h, 1)
    images = np.repeat(images, w, 2).repeat(3, 3)
    assert not saliency_map(images[0])[0].any()
    options = content_options("elem", "random", None, "target_background", "saliency")
    draws = MixDraws(
        np.array([1, 0, 3, 2], np.int32),
        np.array([0.3, 0.5, 0.7, 0.9], np.float32),
        np.ones(n, np.uint8),
        None,
        rng.random((n, 4), dtype=np.float32),
    )
    _, _, boxes, lams, dests = mix_numpy(images, np.arange(n), draws=draws, options=options)
    sides = boxes[:, 2:] - boxes[:, :2]
    np.testing.assert_array_equal(dests[:, :2], 0)
    np.testing.assert_array_equal(dests[:, 2:], sides)
    area = sides[:, 0] * sides[:, 1]
    np.testing.assert_array_equal(lams, (1.0 - area / (h * w)).astype(np.float32))


def test_textured_source_on_a_flat_target_weighs_all_to_the_source(rng) -> None:
    """Label weights by content: a flat target keeps no saliency, so the source gets weight 1
    whenever it pastes any saliency (lam = 0); a flat source on a textured target gives lam 1."""
    h, w = 48, 56
    flat = np.full((h, w, 3), 90, np.uint8)
    textured = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    images = np.stack([flat, textured])
    options = content_options(
        "elem", "saliency", None, "source_peak", "saliency", classes=2, smoothing=0.0
    )
    draws = MixDraws(np.array([1, 0], np.int32), np.full(2, 0.5, np.float32), np.ones(2, np.uint8))
    _, soft, _, lams, _ = mix_numpy(images, np.array([0, 1]), draws=draws, options=options)
    np.testing.assert_array_equal(lams, [0.0, 1.0])
    np.testing.assert_array_equal(soft, [[0.0, 1.0], [0.0, 1.0]])  # all class 1: the textured


@pytest.mark.parametrize("mode", MODES)
def test_defaults_and_each_option_alone(mode, rng) -> None:
    """The defaults give the family's outputs (destination = box); target_background with area
    weights keeps the family's weights; saliency weights with source_peak keep its images and
    boxes."""
    n = 8
    images = photo_batch(n, 56, 72)
    labels = rng.integers(0, 5, n)
    draws = family_draws(rng, n, mode, "both", prob=0.9)
    base = mix_numpy(images, labels, draws=draws, options=options_for(mode, "saliency"))
    np.testing.assert_array_equal(base[4], base[2])
    moved = mix_numpy(
        images,
        labels,
        draws=draws,
        options=content_options(mode, "saliency", None, "target_background", "area"),
    )
    np.testing.assert_array_equal(moved[2], base[2])
    np.testing.assert_array_equal(moved[3], base[3])
    np.testing.assert_array_equal(moved[1], base[1])
    weighed = mix_numpy(
        images,
        labels,
        draws=draws,
        options=content_options(mode, "saliency", None, "source_peak", "saliency"),
    )
    for k in (0, 2, 4):
        np.testing.assert_array_equal(weighed[k], base[k])
    governing = [
        {"elem": i, "batch": 0, "pair": min(i, int(draws.source[i]))}[mode] for i in range(n)
    ]
    blend = np.asarray(draws.cutmix)[governing] == 0  # MixUp keeps its lam in every variant
    np.testing.assert_array_equal(weighed[3][blend], base[3][blend])
    np.testing.assert_array_equal(moved[4][blend], 0)


def test_pair_mode_stays_equivariant_but_not_symmetric(rng) -> None:
    """Reversing the batch reverses the outputs (each sample's result depends on its own target,
    source and governing draw); the two samples of a pair no longer share one destination."""
    n = 9
    images = photo_batch(n, 48, 64)
    labels = rng.integers(0, 5, n)
    options = content_options("pair", "random", None, "target_background", "saliency")
    draws = family_draws(rng, n, "pair", "cutmix", prob=1.0)
    draws.lam[:] = 0.6
    ours = mix_numpy(images, labels, draws=draws, options=options)
    swapped = mix_numpy(images[::-1].copy(), labels[::-1].copy(), draws=draws, options=options)
    for a, b in zip(ours, swapped, strict=True):
        np.testing.assert_array_equal(a, b[::-1])
    np.testing.assert_array_equal(ours[2], ours[2][::-1])  # one source box per pair
    assert not np.array_equal(ours[4], ours[4][::-1])  # but its own destination each


# ---- The DALI CPU operator, its checkpoints, and the PyTorch CPU path ------------------------


@pytest.mark.parametrize(
    ("mode", "box", "minmax", "placement", "weights"),
    [
        ("elem", "saliency", None, "target_background", "saliency"),
        ("batch", "saliency", None, "target_background", "area"),
        ("pair", "random", None, "target_background", "saliency"),
        ("elem", "random", (0.2, 0.8), "source_peak", "saliency"),
        ("batch", "random", None, "source_peak", "saliency"),
        ("pair", "saliency", (0.3, 0.7), "target_background", "area"),
    ],
)
def test_dali_operator_equals_numpy_path(mode, box, minmax, placement, weights, rng) -> None:
    n = 7
    images = photo_batch(n, 48, 64)
    ids = rng.integers(0, 5, (n, 1)).astype(np.int32)
    options = content_options(mode, box, minmax, placement, weights)
    draws = family_draws(rng, n, mode, "both", prob=0.9)
    got = run_operator(images, ids, options, draws)
    ours = mix_numpy(images, ids, draws=draws, options=options)
    assert len(got) == (6 if placement == "target_background" else 5)
    for name, a, b in zip(NAMES[:4], got[:4], ours[:4], strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    np.testing.assert_array_equal(got[4], draws.source)
    if placement == "target_background":
        np.testing.assert_array_equal(got[5], ours[4])


def content_pipeline(batch_size, seed):
    def pipe():
        jpegs, labels = fn.readers.file(
            file_root=str(PHOTO_DIR), name="Reader", random_shuffle=True, seed=7
        )
        images = fn.resize(fn.decoders.image(jpegs, output_type=types.RGB), size=(48, 56))
        return dali_saliencymix.mix(
            images,
            labels,
            num_classes=4,
            mixup_alpha=0.8,
            cutmix_alpha=1.0,
            mode="elem",
            pairing="permutation",
            placement="target_background",
            label_weights="saliency",
            seed=seed,
            return_info=True,
        )

    return pipe


def test_dali_wrapper_outputs_and_determinism() -> None:
    def run(threads):
        p = pipeline_def(
            content_pipeline(4, seed=31), batch_size=4, num_threads=threads, device_id=None, seed=5
        )()
        p.build()
        return [[arrays(o) for o in p.run()] for _ in range(3)]

    a, b = run(1), run(2)
    for x, y in zip(a, b, strict=True):
        assert len(x) == 6
        for u, v in zip(x, y, strict=True):
            np.testing.assert_array_equal(u, v)
    mixed, soft, boxes, lams, sources, dests = a[0]
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
    sides = boxes[:, 2:] - boxes[:, :2]
    moved = dests.any(axis=1)
    np.testing.assert_array_equal(dests[moved, 2:] - dests[moved, :2], sides[moved])


def test_dali_checkpoint_restores_following_batches() -> None:
    def make(checkpoint=None):
        p = pipeline_def(
            content_pipeline(4, seed=None),
            batch_size=4,
            num_threads=2,
            device_id=None,
            seed=1234,
            enable_checkpointing=True,
        )(checkpoint=checkpoint)
        p.build()
        return p

    first = make()
    for _ in range(2):
        first.run()
    checkpoint = first.checkpoint()
    expected = [[arrays(o) for o in first.run()] for _ in range(3)]
    restored = make(checkpoint)
    got = [[arrays(o) for o in restored.run()] for _ in range(3)]
    for x, y in zip(expected, got, strict=True):
        for u, v in zip(x, y, strict=True):
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize(("placement", "weights"), list(itertools.product(PLACEMENTS, WEIGHTS)))
@pytest.mark.parametrize("mode", MODES)
def test_torch_cpu_path_equals_numpy_path(mode, placement, weights, rng) -> None:
    n = 7
    images = photo_batch(n, 40, 52)
    labels = rng.integers(0, 5, n)
    options = content_options(mode, "random", None, placement, weights)
    draws = family_draws(rng, n, mode, "both", prob=0.9)
    got = torch_mix(
        torch.from_numpy(images),
        torch.from_numpy(labels),
        options=options,
        draws=draws,
        return_info=True,
    )
    ours = mix_numpy(images, labels, draws=draws, options=options)
    assert len(got) == (6 if placement == "target_background" else 5)
    for k in range(4):
        np.testing.assert_array_equal(got[k].numpy(), ours[k], err_msg=NAMES[k])
    np.testing.assert_array_equal(got[4].numpy(), draws.source)
    if placement == "target_background":
        np.testing.assert_array_equal(got[5].numpy(), ours[4])


# ---- Refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"placement": "centre"},
            'placement must be "source_peak" or "target_background", got "centre"',
        ),
        ({"label_weights": "mass"}, 'label_weights must be "area" or "saliency", got "mass"'),
    ],
)
def test_dali_refuses_bad_option_strings(kwargs, message) -> None:
    images = [np.zeros((10, 10, 3), np.uint8)] * 2

    def pipe():
        feed = lambda v: fn.external_source(source=lambda: v, batch=True)  # noqa: E731
        return tuple(
            fn.saliency_mix(
                feed(images),
                feed([np.array([0], np.int32), np.array([1], np.int32)]),
                lam=feed([np.float32(0.5)] * 2),
                apply=feed([np.int32(1)] * 2),
                num_classes=2,
                **kwargs,
            )
        )

    with pytest.raises(RuntimeError) as err:
        p = pipeline_def(pipe, batch_size=2, num_threads=1, device_id=None)()
        p.build()
        p.run()
    assert "fn.saliency_mix" in str(err.value) and message in str(err.value), str(err.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("placement", 2, "placement must be 0 (source_peak) or 1 (target_background), got 2"),
        ("label_weights", -1, "label_weights must be 0 (area) or 1 (saliency), got -1"),
    ],
)
def test_c_api_refuses_bad_option_codes(field, value, message) -> None:
    n = 2
    images = np.zeros((n, 4, 4, 3), np.uint8)
    ids = np.array([0, 1], np.int32)
    source, lam, apply = (
        np.array([1, 0], np.int32),
        np.full(n, 0.5, np.float32),
        np.ones(n, np.uint8),
    )
    out, labels = np.empty_like(images), np.empty((n, 2), np.float32)
    args = c_api.DsmMixArgs(
        images=images.ctypes.data,
        num_samples=n,
        height=4,
        width=4,
        channels=3,
        label_ids=ids.ctypes.data,
        num_classes=2,
        source=source.ctypes.data,
        lam=lam.ctypes.data,
        apply=apply.ctypes.data,
        correct_lam=1,
        out_images=out.ctypes.data,
        out_labels=labels.ctypes.data,
    )
    setattr(args, field, value)
    assert c_api.library().dsm_mix_cpu(ctypes.byref(args)) != 0
    assert message in c_api.library().dsm_last_error().decode()


def test_mix_config_refuses_bad_option_strings() -> None:
    with pytest.raises(ValueError, match="placement must be one of"):
        MixConfig(num_classes=3, placement="centre")
    with pytest.raises(ValueError, match="label_weights must be one of"):
        MixConfig(num_classes=3, label_weights="mass")
