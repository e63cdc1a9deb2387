"""`dali_saliencymix.torch.saliency_mix`: the kernels from PyTorch, equal to the DALI operator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mix_reference import reference_mix
from test_saliency_mix_dali import photo_batch, run_with_draws

from dali_saliencymix.torch import MixDraws, draw, saliency_mix


@pytest.mark.parametrize("mode", ["elem", "batch"])
def test_cpu_equals_reference_and_dali(mode, rng) -> None:
    n, classes = 6, 5
    images = photo_batch(n, 72, 100)
    ids = rng.integers(0, classes, (n, 1)).astype(np.int32)
    dali_out = run_with_draws(images, ids, num_classes=classes, mode=mode, smoothing=0.1)
    source, lam, apply = dali_out[5:]
    draws = MixDraws(source, lam, apply)
    ours = saliency_mix(
        torch.from_numpy(images),
        torch.from_numpy(ids),
        num_classes=classes,
        mode=mode,
        label_smoothing=0.1,
        draws=draws,
        return_info=True,
    )
    ref = reference_mix(images, ids, classes, source, lam, apply, mode, 0.1, True)
    for k in range(4):
        np.testing.assert_array_equal(ours[k].numpy(), ref[k])
        np.testing.assert_array_equal(ours[k].numpy(), dali_out[k])
    np.testing.assert_array_equal(ours[4].numpy(), source)


def test_soft_labels_and_seeded_draws(rng) -> None:
    images = torch.from_numpy(rng.integers(0, 256, (5, 30, 40, 3), dtype=np.uint8))
    soft = torch.from_numpy(rng.dirichlet(np.ones(3), 5).astype(np.float32))
    a = saliency_mix(images, soft, num_classes=3, seed=4, prob=0.5)
    b = saliency_mix(images, soft, num_classes=3, seed=4, prob=0.5)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    torch.testing.assert_close(a[1].sum(dim=1), torch.ones(5))


def test_draws_follow_their_distributions() -> None:
    d = draw(20_000, alpha=0.5, prob=0.25, seed=1)  # SaliencyMix's draws (the 0.1 form)
    same = draw(20_000, cutmix_alpha=0.5, prob=0.25, pairing="permutation", seed=1)
    pairs = zip(d.__dict__.values(), same.__dict__.values(), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)
    assert sorted(d.source.tolist()) == list(range(20_000))
    assert abs(d.apply.mean() - 0.25) < 4.5 * np.sqrt(0.25 * 0.75 / 20_000)
    assert abs(d.lam.mean() - 0.5) < 0.01 and d.lam.var() > 0.1  # Beta(0.5, 0.5): var 0.125


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"images": torch.zeros((2, 8, 8, 3), dtype=torch.float32)}, "expected a uint8 NHWC"),
        ({"images": torch.zeros((8, 8, 3), dtype=torch.uint8)}, "expected a uint8 NHWC"),
        ({"labels": torch.tensor([0, 7])}, "has class 7"),
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"prob": 2.0}, "prob must be in [0, 1]"),
        ({"num_classes": 0}, "num_classes must be an integer >= 1"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, message) -> None:
    args = {
        "images": torch.zeros((2, 8, 8, 3), dtype=torch.uint8),
        "labels": torch.tensor([0, 1]),
        "num_classes": 4,
        **kwargs,
    }
    images, labels = args.pop("images"), args.pop("labels")
    with pytest.raises(ValueError, match="^torch.saliency_mix: ") as err:
        saliency_mix(images, labels, **args)
    assert message in str(err.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU (none visible)")
@pytest.mark.parametrize("mode", ["elem", "batch"])
def test_cuda_equals_cpu(mode, rng) -> None:
    images = torch.from_numpy(photo_batch(16, 64, 80))
    labels = torch.from_numpy(rng.integers(0, 10, 16))
    draws = draw(16, 1.0, 0.7, seed=3)
    cpu = saliency_mix(images, labels, num_classes=10, mode=mode, draws=draws, return_info=True)
    gpu = saliency_mix(
        images.cuda(), labels.cuda(), num_classes=10, mode=mode, draws=draws, return_info=True
    )
    for a, b in zip(cpu, gpu, strict=True):
        assert torch.equal(a, b.cpu())


def test_draws_of_the_wrong_length_are_refused() -> None:
    draws = MixDraws(np.array([1, 0], np.int32), np.ones(2, np.float32), np.ones(2, np.uint8))
    with pytest.raises(ValueError, match="draws.source: expected 8 values, got 2"):
        saliency_mix(
            torch.zeros((8, 4, 4, 3), dtype=torch.uint8),
            torch.zeros(8, dtype=torch.long),
            num_classes=2,
            draws=draws,
        )


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("fn", ["mix", "saliency_mix"])
def test_nchw_gives_the_nhwc_result_in_nchw(fn, channels_last, rng) -> None:
    """layout="NCHW": the same pixels, boxes and labels as the NHWC batch, returned as NCHW."""
    from dali_saliencymix import torch as dsm_torch

    call = getattr(dsm_torch, fn)
    n, classes = 6, 5
    nhwc = torch.from_numpy(photo_batch(n, 40, 56))
    labels = torch.from_numpy(rng.integers(0, classes, n))
    options = {"num_classes": classes, "mode": "elem", "prob": 0.8}
    if fn == "mix":
        options.update(mixup_alpha=0.5, cutmix_alpha=1.0)
    draws = draw(n, seed=5, **({"pairing": "permutation"} | options))
    expected = call(nhwc, labels, draws=draws, return_info=True, **options)
    nchw = nhwc.permute(0, 3, 1, 2).contiguous()
    if channels_last:
        nchw = nchw.contiguous(memory_format=torch.channels_last)
    got = call(nchw, labels, draws=draws, return_info=True, layout="NCHW", **options)
    assert got[0].shape == (n, 3, 40, 56) and got[0].is_contiguous()
    assert torch.equal(got[0], expected[0].permute(0, 3, 1, 2))
    assert not torch.equal(got[0], nchw)  # something was mixed
    for a, b in zip(got[1:], expected[1:], strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("shape", "layout", "message"),
    [
        (
            (2, 3, 8, 8),
            "NHWC",
            "has 8 channels, expected 1 or 3 (is it NCHW? then pass layout='NCHW')",
        ),
        (
            (2, 8, 8, 3),
            "NCHW",
            "has 8 channels, expected 1 or 3 (is it NHWC? then pass layout='NHWC')",
        ),
        ((2, 3, 8, 8), "CHW", "layout must be 'NHWC' or 'NCHW', got 'CHW'"),
        ((3, 8, 8), "NCHW", "expected a uint8 NCHW tensor, got torch.uint8 of shape (3, 8, 8)"),
    ],
)
def test_a_wrong_layout_is_named(shape, layout, message) -> None:
    from dali_saliencymix.torch import mix

    images = torch.zeros(shape, dtype=torch.uint8)
    with pytest.raises(ValueError, match="^torch.mix: ") as err:
        mix(images, torch.tensor([0, 1]), num_classes=2, layout=layout)
    assert message in str(err.value)
