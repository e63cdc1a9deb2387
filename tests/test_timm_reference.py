"""The mixing family against timm's own ``Mixup`` and ``FastCollateMixup`` (timm 1.0.x), fed the
same random draws; and this package's drop-ins for them (``dali_saliencymix.timm``) against them.

The kernel tests load timm's installed ``timm/data/mixup.py`` file alone (it imports numpy and
torch only), so that they run where ``import timm`` fails (timm imports torchvision, which may not
load beside the torch installed). The drop-in tests need the real ``import timm`` (the drop-ins
subclass timm's classes) and skip, saying why, only where it fails.

The hook: timm draws with ``np.random.rand``, ``np.random.beta`` and ``np.random.randint``. The
module's ``np`` is replaced by numpy with a ``random`` that hands out our draws, in the order
timm asks for them: coin flips become 0.0 (True) or the float below 1.0 (False), so that
``rand() < p`` reproduces them; betas return our lam; ``randint(low, high)`` returns
``low + floor(u * (high - low))`` for our uniform box draw ``u``, the rule of our kernels.
Every queue must be empty at the end: timm consumed exactly our draws. The drop-ins draw through
timm's own methods and numpy's ``randint`` in timm's order, so the same hook feeds them.
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


def feed(
    timm: ModuleType, options: MixConfig, draws: MixDraws, n: int, mode: str | None = None
) -> FedRandom:
    """Queue our draws in the order timm's ``Mixup`` consumes them (`mode`: timm's, e.g. half)."""
    mode = mode or options.mode
    fed = FedRandom()
    timm.np = SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    timm.np.random = fed
    both = options.mixup_alpha > 0 and options.cutmix_alpha > 0
    lam = draws.lam.astype(np.float64)
    cutmix = draws.cutmix if draws.cutmix is not None else np.ones(n, np.uint8)
    if mode == "batch":
        fed.rand_queue.append(flips(draws.apply[0]))
        if draws.apply[0]:
            if both:
                fed.rand_queue.append(flips(cutmix[0]))
            fed.beta_queue.append(float(lam[0]))
        used = [0] if draws.apply[0] and lam[0] != 1 and cutmix[0] else []
    else:
        m = n // 2 if mode in ("pair", "half") else n
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


# The drop-ins (dali_saliencymix.timm) against timm's own classes.

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@pytest.fixture
def real_timm(monkeypatch):
    """(timm's mixup module, the drop-in module); both modules' ``np`` restored afterwards."""
    try:
        import timm.data.mixup as module
    except Exception as err:  # noqa: BLE001 - timm's own imports may fail with any error
        pytest.skip(f"import timm fails here ({type(err).__name__}: {err}); the drop-ins need it")
    from dali_saliencymix import timm as dropin
    from dali_saliencymix.torch import timm_mixing

    monkeypatch.setattr(module, "np", np)  # feed() replaces it; monkeypatch puts numpy back
    monkeypatch.setattr(timm_mixing, "np", np)  # where the drop-ins draw timm's random boxes
    return module, dropin


def fed_run(module, dropin, options, draws, n, call, mode=None):
    """Run `call()` with timm and the drop-ins drawing our draws; check that they took exactly
    those."""
    from dali_saliencymix.torch import timm_mixing

    fed = feed(module, options, draws, n, mode)
    timm_mixing.np = module.np
    out = call()
    assert fed.empty(), "timm's or the drop-in's draws were not exactly ours"
    return out


def normalised(images: np.ndarray, dtype=torch.float32) -> torch.Tensor:
    """uint8 NHWC -> float NCHW, normalised as timm's PrefetchLoader does."""
    mean = torch.tensor([m * 255 for m in IMAGENET_MEAN]).view(1, 3, 1, 1)
    std = torch.tensor([s * 255 for s in IMAGENET_STD]).view(1, 3, 1, 1)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().sub_(mean).div_(std)
    return x.to(dtype)


def dropin_options(mode: str, recipe: str) -> MixConfig:
    return MixConfig(
        num_classes=6,
        mode="elem" if mode == "half" else mode,
        box="random",
        label_smoothing=0.1,
        **RECIPES[recipe],
    )


@pytest.mark.parametrize("mode", ["elem", "pair", "batch", "half"])
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_dropin_fast_collate_mixup_equals_timms(mode, recipe, real_timm, rng) -> None:
    """box="random": the drop-in's uint8 batch and targets are timm's, in every mode."""
    module, dropin = real_timm
    n = 8
    options = dropin_options(mode, recipe)
    images = photo_batch(n, 48, 64)
    labels = rng.integers(0, 6, n)
    kwargs = {**timm_options(options), "mode": mode}
    for trial in range(3):
        draws = our_draws(n, options, rng)
        if trial == 0:
            draws.apply[:] = 1

        # Fresh CHW arrays each time: timm's pair mode writes into the samples it is given.
        def batch() -> list:
            return [
                (np.ascontiguousarray(im.transpose(2, 0, 1)), int(y))
                for im, y in zip(images, labels, strict=True)
            ]

        theirs = fed_run(
            module,
            dropin,
            options,
            draws,
            n,
            lambda batch=batch: module.FastCollateMixup(**kwargs)(batch()),
            mode,
        )
        ours = fed_run(
            module,
            dropin,
            options,
            draws,
            n,
            lambda batch=batch: dropin.FastCollateMixup(**kwargs, box="random")(batch()),
            mode,
        )
        assert ours[0].dtype == torch.uint8 and ours[0].shape == theirs[0].shape
        assert torch.equal(ours[0], theirs[0])
        if trial == 0:  # every sample mixed: not the unmixed batch
            unmixed = torch.from_numpy(images[: len(ours[0])]).permute(0, 3, 1, 2)
            assert not torch.equal(ours[0], unmixed)
        torch.testing.assert_close(ours[1], theirs[1], rtol=0, atol=2e-7)


@pytest.mark.parametrize("mode", ["elem", "pair", "batch"])
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_dropin_mixup_equals_timms_on_float_batches(mode, recipe, real_timm, rng) -> None:
    """box="random": the drop-in's float batch is timm's, value for value (boxes pasted, MixUp
    blended as timm blends), and its targets equal timm's to float32 rounding."""
    module, dropin = real_timm
    n = 8
    options = dropin_options(mode, recipe)
    images = photo_batch(n, 40, 48)
    labels = torch.from_numpy(rng.integers(0, 6, n))
    kwargs = timm_options(options)
    for trial in range(3):
        draws = our_draws(n, options, rng)
        if trial == 0:
            draws.apply[:] = 1
        x = normalised(images)
        theirs = fed_run(
            module, dropin, options, draws, n, lambda x=x: module.Mixup(**kwargs)(x.clone(), labels)
        )
        ours = fed_run(
            module,
            dropin,
            options,
            draws,
            n,
            lambda x=x: dropin.Mixup(**kwargs, box="random")(x.clone(), labels),
        )
        assert torch.equal(ours[0], theirs[0])
        torch.testing.assert_close(ours[1], theirs[1], rtol=0, atol=2e-7)
        if draws.apply.any():
            assert not torch.equal(ours[0], x)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("mode", ["elem", "batch"])
def test_dropin_mixup_on_half_precision(dtype, mode, real_timm, rng) -> None:
    """float16 and bfloat16 batches: the pixels are timm's; the targets too, up to timm's own
    rounding of the per-sample weights to the batch's dtype (elem mode)."""
    module, dropin = real_timm
    n = 6
    options = dropin_options(mode, "deit")
    images = photo_batch(n, 40, 48)
    labels = torch.from_numpy(rng.integers(0, 6, n))
    draws = our_draws(n, options, rng)
    draws.apply[:] = 1
    x = normalised(images, dtype)
    kwargs = timm_options(options)
    theirs = fed_run(
        module, dropin, options, draws, n, lambda: module.Mixup(**kwargs)(x.clone(), labels)
    )
    ours = fed_run(
        module,
        dropin,
        options,
        draws,
        n,
        lambda: dropin.Mixup(**kwargs, box="random")(x.clone(), labels),
    )
    assert ours[0].dtype == dtype and torch.equal(ours[0], theirs[0])
    assert ours[1].dtype == torch.float32
    rounding = 0 if mode == "batch" else float(torch.finfo(dtype).eps)
    torch.testing.assert_close(ours[1], theirs[1], rtol=0, atol=2e-7 + rounding)


@pytest.mark.parametrize("mode", ["elem", "pair", "batch"])
def test_dropin_with_the_same_numpy_seed_is_timms(mode, real_timm, rng) -> None:
    """No hook: seeded alike, the drop-ins draw from numpy's generator what timm draws, and mix
    the pixels with timm's expressions (its double-precision lam in batch mode included)."""
    module, dropin = real_timm
    images = photo_batch(8, 48, 64)
    labels = rng.integers(0, 5, 8)

    def batch() -> list:  # fresh arrays: timm's pair mode writes into the samples it is given
        return [
            (np.ascontiguousarray(im.transpose(2, 0, 1)), int(y))
            for im, y in zip(images, labels, strict=True)
        ]

    kwargs = {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "mode": mode, "num_classes": 5}
    for seed in range(6):
        np.random.seed(seed)
        theirs = module.FastCollateMixup(**kwargs)(batch())
        x_theirs = module.Mixup(**kwargs)(normalised(images), torch.from_numpy(labels))
        np.random.seed(seed)
        ours = dropin.FastCollateMixup(**kwargs, box="random")(batch())
        x_ours = dropin.Mixup(**kwargs, box="random")(normalised(images), torch.from_numpy(labels))
        assert torch.equal(ours[0], theirs[0]) and torch.equal(x_ours[0], x_theirs[0])
        torch.testing.assert_close(ours[1], theirs[1], rtol=0, atol=2e-7)
        torch.testing.assert_close(x_ours[1], x_theirs[1], rtol=0, atol=2e-7)


def test_dropin_multi_label_equals_timms(real_timm, rng) -> None:
    module, dropin = real_timm
    n, classes = 6, 5
    options = MixConfig(num_classes=classes, mode="elem", box="random", label_smoothing=0.2)
    dense = torch.from_numpy((rng.random((n, classes)) < 0.4).astype(np.float32))
    x = normalised(photo_batch(n, 32, 40))
    draws = our_draws(n, options, rng)
    kwargs = {**timm_options(options), "multi_label": True}
    theirs = fed_run(
        module, dropin, options, draws, n, lambda: module.Mixup(**kwargs)(x.clone(), dense)
    )
    ours = fed_run(
        module,
        dropin,
        options,
        draws,
        n,
        lambda: dropin.Mixup(**kwargs, box="random")(x.clone(), dense),
    )
    assert torch.equal(ours[0], theirs[0])
    torch.testing.assert_close(ours[1], theirs[1], rtol=0, atol=2e-7)
    with pytest.raises(ValueError, match="Mixup: multi_label expects dense targets of shape"):
        dropin.Mixup(**kwargs)(x.clone(), torch.zeros(n, dtype=torch.long))


def test_dropin_saliency_box_is_found_on_the_uint8_image(real_timm, rng) -> None:
    """box="saliency": the float batch, un-normalised, is the uint8 batch that the collate
    drop-in mixes with the same draws (CutMix copies pixels): the saliency was computed on the
    image the normalisation came from, and the box moved float pixels."""
    module, dropin = real_timm
    images = photo_batch(8, 64, 80)
    labels = rng.integers(0, 4, 8)
    batch = [
        (np.ascontiguousarray(im.transpose(2, 0, 1)), int(y))
        for im, y in zip(images, labels, strict=True)
    ]
    for mode in ("elem", "batch"):
        kwargs = {"mixup_alpha": 0.0, "cutmix_alpha": 1.0, "mode": mode, "num_classes": 4}
        np.random.seed(7)
        x, soft = dropin.Mixup(**kwargs)(normalised(images), torch.from_numpy(labels))
        np.random.seed(7)
        collated, collated_soft = dropin.FastCollateMixup(**kwargs)(batch)
        std = torch.tensor([s * 255 for s in IMAGENET_STD]).view(1, 3, 1, 1)
        mean = torch.tensor([m * 255 for m in IMAGENET_MEAN]).view(1, 3, 1, 1)
        back = (x * std + mean).round().clamp(0, 255).to(torch.uint8)
        assert torch.equal(back, collated)
        assert not torch.equal(collated, torch.from_numpy(images).permute(0, 3, 1, 2))
        torch.testing.assert_close(soft, collated_soft, rtol=0, atol=0)


def test_dropins_are_timms_classes_and_mixing_turns_off(real_timm, rng) -> None:
    """timm's isinstance checks hold, so its PrefetchLoader's ``mixup_enabled`` reaches the
    collate function (``--mixup-off-epoch``): off, nothing is mixed and targets are one-hot."""
    import timm.data
    from timm.data.loader import PrefetchLoader

    _, dropin = real_timm
    collate = dropin.FastCollateMixup(cutmix_alpha=1.0, mixup_alpha=0.0, num_classes=4)
    assert isinstance(collate, timm.data.FastCollateMixup)
    assert isinstance(dropin.Mixup(), timm.data.Mixup)
    samples = [
        (np.ascontiguousarray(im.transpose(2, 0, 1)), k % 4)
        for k, im in enumerate(photo_batch(4, 32, 32))
    ]
    loader = torch.utils.data.DataLoader(samples, batch_size=4, collate_fn=collate)
    prefetch = PrefetchLoader(loader, device=torch.device("cpu"))
    assert prefetch.mixup_enabled is True
    prefetch.mixup_enabled = False
    assert collate.mixup_enabled is False
    images, targets = collate(samples)
    assert torch.equal(images, torch.from_numpy(np.stack([s[0] for s in samples])))
    expected = torch.full((4, 4), 0.1 / 4) + torch.eye(4) * 0.9
    torch.testing.assert_close(targets, expected, rtol=0, atol=1e-7)


def test_dropins_take_timms_arguments_and_defaults(real_timm) -> None:
    import inspect

    module, dropin = real_timm
    for name in ("Mixup", "FastCollateMixup"):
        theirs = inspect.signature(getattr(module, name).__init__).parameters
        ours = inspect.signature(getattr(dropin, name).__init__).parameters
        for param in theirs.values():
            assert param.name in ours, (name, param.name)
            assert ours[param.name].default == param.default, (name, param.name)
        assert ours["box"].default == "saliency"


@pytest.mark.parametrize(
    ("make", "call", "message"),
    [
        (
            lambda d: d.Mixup(),
            lambda f: f(torch.zeros(3, 3, 8, 8), torch.zeros(3)),
            "batch size must be even",
        ),
        (
            lambda d: d.Mixup(),
            lambda f: f(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), None),
            "expected a normalised float NCHW",
        ),
        (lambda d: d.Mixup(), lambda f: f(torch.zeros(2, 8, 8, 3), None), "with 3 channels"),
        (lambda d: d.Mixup(mode="half"), None, "mode 'half' is FastCollateMixup's, not Mixup's"),
        (lambda d: d.Mixup(mode="{oops}"), None, "mode must be one of 'batch', 'pair', 'elem'"),
        (lambda d: d.FastCollateMixup(mode="diag"), None, "mode must be one of 'batch', 'pair'"),
        (lambda d: d.Mixup(box="peak"), None, "box must be one of 'saliency', 'random'"),
        (lambda d: d.Mixup(mixup_alpha=0.0), None, "mixup_alpha and cutmix_alpha are both 0"),
        (
            lambda d: d.Mixup(mean=(0.5, 0.5)),
            None,
            "mean and std must be one or three values (per channel)",
        ),
        (
            lambda d: d.FastCollateMixup(),
            lambda f: f([(np.zeros((3, 8, 8), np.float32), 0)] * 2),
            "expected uint8 CHW images",
        ),
    ],
)
def test_dropin_errors_name_the_class(make, call, message, real_timm) -> None:
    _, dropin = real_timm
    with pytest.raises(ValueError, match=r"^timm\.(Mixup|FastCollateMixup): ") as err:
        call(make(dropin)) if call else make(dropin)
    assert message in str(err.value)
