"""The mixing family against timm's own ``Mixup`` and ``FastCollateMixup`` (timm 1.0.x), fed the
same random draws.

timm is loaded from its installed ``timm/data/mixup.py`` file alone (it imports numpy and torch
only): ``import timm`` itself imports torchvision, and PyPI's torchvision wheel for torch 2.13 is
built for CUDA torch and does not load next to the CPU build used here.

The hook: timm draws with ``np.random.rand``, ``np.random.beta`` and ``np.random.randint``. The
module's ``np`` is replaced by numpy with a ``random`` that hands out our draws, in the order
timm asks for them: coin flips become 0.0 (True) or the float below 1.0 (False), so that
``rand() < p`` reproduces them; betas return our lam; ``randint(low, high)`` returns
``low + floor(u * (high - low))`` for our uniform box draw ``u``, the rule of our kernels.
Every queue must be empty at the end: timm consumed exactly our draws.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
import torch
from kernel_calls import mix_numpy
from test_saliency_mix_dali import photo_batch

from dali_saliencymix import MixConfig
from dali_saliencymix.numpy import MixDraws

ALMOST_ONE = float(np.nextafter(np.float32(1.0), np.float32(0.0)))


def load_timm_mixup() -> ModuleType:
    spec = importlib.util.find_spec("timm")
    if spec is None or spec.origin is None:
        pytest.skip("timm is not installed (it is in the test extra)")
    path = Path(spec.origin).parent / "data" / "mixup.py"
    module_spec = importlib.util.spec_from_file_location("timm_data_mixup", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


class FedRandom:
    """``np.random`` for timm's module: our draws, in timm's order."""

    def __init__(self) -> None:
        self.rand_queue: list = []
        self.beta_queue: list = []
        self.uniform_queue: list[float] = []

    def rand(self, *size: int) -> object:
        value = self.rand_queue.pop(0)
        assert np.shape(value) == tuple(size), (np.shape(value), size)
        return value

    def beta(self, a: float, b: float, size: int | None = None) -> object:
        value = self.beta_queue.pop(0)
        assert np.shape(value) == (() if size is None else (size,))
        return value

    def randint(self, low: int, high: int, size: int | None = None) -> int:
        assert size is None
        u = self.uniform_queue.pop(0)
        return int(low) + min(int(float(u) * (int(high) - int(low))), int(high) - int(low) - 1)

    def empty(self) -> bool:
        return not (self.rand_queue or self.beta_queue or self.uniform_queue)


def flips(values: np.ndarray) -> np.ndarray | float:
    """Coin flips as the uniform numbers that make ``rand() < p`` give them."""
    out = np.where(np.asarray(values) != 0, 0.0, ALMOST_ONE)
    return float(out) if out.ndim == 0 else out


def feed(timm: ModuleType, options: MixConfig, draws: MixDraws, n: int) -> FedRandom:
    """Queue our draws in the order timm's ``Mixup`` consumes them."""
    fed = FedRandom()
    timm.np = SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    timm.np.random = fed
    both = options.mixup_alpha > 0 and options.cutmix_alpha > 0
    lam = draws.lam.astype(np.float64)
    cutmix = draws.cutmix if draws.cutmix is not None else np.ones(n, np.uint8)
    if options.mode == "batch":
        fed.rand_queue.append(flips(draws.apply[0]))
        if draws.apply[0]:
            if both:
                fed.rand_queue.append(flips(cutmix[0]))
            fed.beta_queue.append(float(lam[0]))
        used = [0] if draws.apply[0] and lam[0] != 1 and cutmix[0] else []
    else:
        m = n // 2 if options.mode == "pair" else n
        if both:
            fed.rand_queue.append(flips(cutmix[:m]))
            fed.beta_queue += [lam[:m], lam[:m]]  # timm picks CutMix's or MixUp's by the flip
        else:
            fed.beta_queue.append(lam[:m])
        fed.rand_queue.append(flips(draws.apply[:m]))
        used = [i for i in range(m) if draws.apply[i] and lam[i] != 1 and cutmix[i]]
    per_box = 4 if options.cutmix_minmax is not None else 2
    for i in used:
        fed.uniform_queue += [float(u) for u in draws.box[i][:per_box]]
    return fed


def timm_options(options: MixConfig) -> dict:
    return {
        "mixup_alpha": options.mixup_alpha,
        "cutmix_alpha": options.cutmix_alpha,
        "cutmix_minmax": list(options.cutmix_minmax) if options.cutmix_minmax else None,
        "prob": options.prob,
        "switch_prob": options.switch_prob,
        "mode": options.mode,
        "correct_lam": options.correct_lam,
        "label_smoothing": options.label_smoothing,
        "num_classes": options.num_classes,
    }


def our_draws(n: int, options: MixConfig, rng: np.random.Generator) -> MixDraws:
    """timm's distributions, drawn as our pipeline draws them (float32 lam)."""
    apply = (rng.random(n) < options.prob).astype(np.uint8)
    both = options.mixup_alpha > 0 and options.cutmix_alpha > 0
    if both:
        cutmix = (rng.random(n) < options.switch_prob).astype(np.uint8)
    else:
        cutmix = np.full(n, 1 if options.cutmix_alpha > 0 else 0, np.uint8)
    lam_cut = rng.beta(max(options.cutmix_alpha, 1e-3), max(options.cutmix_alpha, 1e-3), n)
    lam_mix = rng.beta(max(options.mixup_alpha, 1e-3), max(options.mixup_alpha, 1e-3), n)
    lam = np.where(cutmix == 1, lam_cut, lam_mix).astype(np.float32)
    lam = np.where(apply == 1, lam, np.float32(1.0)).astype(np.float32)
    return MixDraws(
        source=np.arange(n - 1, -1, -1, dtype=np.int32),  # timm pairs i with N-1-i
        lam=lam,
        apply=apply,
        cutmix=cutmix,
        box=rng.random((n, 4)).astype(np.float32),
    )


RECIPES = {
    "mixup": {"mixup_alpha": 0.8, "cutmix_alpha": 0.0},
    "cutmix": {"mixup_alpha": 0.0, "cutmix_alpha": 1.0},
    "deit": {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "switch_prob": 0.5},
    "minmax": {"mixup_alpha": 0.0, "cutmix_minmax": (0.2, 0.8)},
    "deit-minmax": {"mixup_alpha": 0.8, "cutmix_minmax": (0.3, 0.9), "prob": 0.7},
    "no-correct": {"mixup_alpha": 0.2, "cutmix_alpha": 0.5, "correct_lam": False, "prob": 0.6},
}


def run_ours(images, labels, options, draws):
    mixed, targets, *_ = mix_numpy(images, labels, draws=draws, options=options)
    return mixed, targets


@pytest.mark.parametrize("mode", ["elem", "pair", "batch"])
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_equals_timm_fast_collate_mixup(mode, recipe, rng) -> None:
    """uint8 images: equal to timm's FastCollateMixup pixel for pixel (CutMix and MixUp), soft
    labels to float tolerance, for every mode and recipe."""
    timm = load_timm_mixup()
    n, classes = 8, 6
    options = MixConfig(
        num_classes=classes,
        mode=mode,
        box="random",
        pairing="reverse",
        label_smoothing=0.1,
        **RECIPES[recipe],
    )
    images = photo_batch(n, 48, 64)
    labels = rng.integers(0, classes, n)
    for trial in range(4):
        draws = our_draws(n, options, rng)
        if mode == "batch" and trial == 0:
            draws.apply[0] = 1  # make sure the batch is mixed at least once
        mixed, targets = run_ours(images, labels, options, draws)
        fed = feed(timm, options, draws, n)
        batch = [
            (np.ascontiguousarray(im.transpose(2, 0, 1)), int(y))
            for im, y in zip(images, labels, strict=True)
        ]
        timm_images, timm_targets = timm.FastCollateMixup(**timm_options(options))(batch)
        assert fed.empty(), "timm did not consume exactly our draws"
        np.testing.assert_array_equal(mixed.transpose(0, 3, 1, 2), timm_images.numpy())
        np.testing.assert_allclose(targets, timm_targets.numpy(), rtol=0, atol=2e-7)
        np.testing.assert_allclose(targets.sum(1), 1.0, atol=1e-6)


@pytest.mark.parametrize("mode", ["elem", "pair", "batch"])
def test_mixup_rounding_is_within_half_a_level_of_timms_float_mixup(mode, rng) -> None:
    """timm's Mixup on float images does not round: ours differs by at most 0.5 (rounding to
    the nearest level, ties to even) plus float32 error, and labels agree."""
    timm = load_timm_mixup()
    n, classes = 6, 4
    options = MixConfig(
        num_classes=classes,
        mixup_alpha=0.4,
        cutmix_alpha=0.0,
        mode=mode,
        box="random",
        pairing="reverse",
        label_smoothing=0.1,
    )
    images = photo_batch(n, 40, 40)
    labels = rng.integers(0, classes, n)
    worst = 0.0
    for _ in range(4):
        draws = our_draws(n, options, rng)
        draws.apply[:] = 1
        mixed, targets = run_ours(images, labels, options, draws)
        fed = feed(timm, options, draws, n)
        x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32))
        x, timm_targets = timm.Mixup(**timm_options(options))(x, torch.from_numpy(labels))
        assert fed.empty()
        error = np.abs(mixed.transpose(0, 3, 1, 2).astype(np.float64) - x.numpy())
        worst = max(worst, float(error.max()))
        np.testing.assert_allclose(targets, timm_targets.numpy(), rtol=0, atol=2e-7)
    assert 0.25 < worst <= 0.5 + 1e-4  # rounding happened, and never by more than half a level
