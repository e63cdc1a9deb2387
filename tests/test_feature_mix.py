"""FeatureSaliencyMix against the numpy reference (feature_mix_reference.py), exactly: saliency,
peak, box, paste and targets on random feature maps of odd sizes, every mode and pairing, every
saliency kind, random and minmax boxes; the draws and their generator; the refusals."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from feature_mix_reference import reference_feature_mix
from torch import nn

from dali_saliencymix.numpy import MixDraws, draw
from dali_saliencymix.options import MixConfig, OptionError
from dali_saliencymix.torch import FeatureSaliencyMix
from dali_saliencymix.torch.feature_boxes import FeatureMixError

SIZES = [(1, 1), (1, 9), (8, 1), (7, 7), (56, 56)]
MODES = [("elem", "reverse"), ("elem", "permutation"), ("batch", "reverse")]
MODES += [("batch", "permutation"), ("pair", "reverse")]
KINDS = ["mean_abs", "l2", "max"]


def identity_net() -> nn.Module:
    """A model whose output is its mixed input: the feature maps are the images."""
    return nn.Sequential(OrderedDict(layer=nn.Identity()))


def dyadic_maps(rng, shape) -> np.ndarray:
    """Random maps of quarters in [-2, 2]: every sum and norm is exact in float32, whatever the
    order of the reduction, so the peaks are exact; ties are common (the first one counts)."""
    return (rng.integers(-8, 9, shape) / 4).astype(np.float32)


def the_draws(n, options, seed, edges=True) -> MixDraws:
    d = draw(n, options, seed=seed)
    if edges and n >= 3:
        # the whole map, nothing, and a lam whose side differs in float32 and double at 211
        d.lam[:3] = (0.0, 1.0, np.float32(0.48105395))
    return d


def run_both(features, labels, options, draws, saliency="mean_abs", **ref):
    mixer = FeatureSaliencyMix(identity_net(), ["layer"], options, saliency=saliency, seed=0)
    mixed, targets, info = mixer(
        torch.from_numpy(features), torch.from_numpy(labels), draws=draws, return_info=True
    )
    expected = reference_feature_mix(
        features,
        labels,
        num_classes=options.num_classes,
        source=draws.source,
        lam=draws.lam,
        apply=draws.apply,
        box=draws.box,
        mode=options.mode,
        box_kind=options.box,
        minmax=options.cutmix_minmax,
        smoothing=options.label_smoothing,
        correct_lam=options.correct_lam,
        saliency=saliency,
    )
    return (mixed.numpy(), targets.numpy(), info.boxes.numpy(), info.lam.numpy()), expected, info


def assert_equal(ours, expected) -> None:
    for k, what in enumerate(("maps", "targets", "boxes", "lam")):
        np.testing.assert_array_equal(ours[k], expected[k], err_msg=what)


@pytest.mark.parametrize("size", SIZES, ids=[f"{h}x{w}" for h, w in SIZES])
@pytest.mark.parametrize("kind", KINDS)
def test_equals_the_reference_in_every_mode_and_pairing(size, kind, rng) -> None:
    n, classes = 6, 5
    features = dyadic_maps(rng, (n, 3, *size))
    labels = rng.integers(0, classes, n)
    for mode, pairing in MODES:
        options = MixConfig(
            num_classes=classes, mode=mode, pairing=pairing, prob=0.8, label_smoothing=0.1
        )
        draws = the_draws(n, options, seed=int(rng.integers(1 << 30)))
        ours, expected, info = run_both(features, labels, options, draws, saliency=kind)
        assert_equal(ours, expected)
        np.testing.assert_array_equal(info.source.numpy(), draws.source)


@pytest.mark.parametrize("size", [(1, 9), (7, 7), (13, 10), (56, 56), (211, 5)])
@pytest.mark.parametrize("box", ["saliency", "random"])
@pytest.mark.parametrize("minmax", [None, "range"])
def test_random_and_minmax_boxes_equal_the_reference(size, box, minmax, rng) -> None:
    if minmax:  # (0.2, 0.7) leaves no box size on a side below 4 (refused, tested below)
        minmax = (0.2, 0.7) if min(size) >= 4 else (0.5, 1.0)
    n, classes = 7, 4
    features = dyadic_maps(rng, (n, 4, *size))
    soft = rng.dirichlet(np.ones(classes), n).astype(np.float32)
    for mode, pairing in MODES:
        options = MixConfig(
            num_classes=classes,
            mode=mode,
            pairing=pairing,
            box=box,
            cutmix_minmax=minmax,
            correct_lam=False,
        )
        draws = the_draws(n, options, seed=int(rng.integers(1 << 30)))
        ours, expected, _ = run_both(features, soft, options, draws)
        assert_equal(ours, expected)


@pytest.mark.parametrize("fill", [0.0, 1.5], ids=["empty", "all-equal"])
@pytest.mark.parametrize("kind", KINDS)
def test_empty_and_all_equal_maps_peak_at_the_first_index(fill, kind) -> None:
    features = np.full((4, 3, 9, 8), fill, np.float32)
    options = MixConfig(num_classes=3, mode="elem")
    draws = MixDraws(source=np.array([3, 2, 1, 0]), lam=np.full(4, 0.5, np.float32), apply=[1] * 4)
    ours, expected, _ = run_both(features, np.array([0, 1, 2, 0]), options, draws, saliency=kind)
    assert_equal(ours, expected)
    # Centred on (0, 0) and clipped: int(9 * sqrt(0.5)) // 2 = 3, int(8 * sqrt(0.5)) // 2 = 2.
    assert ours[2].tolist() == [[0, 0, 3, 2]] * 4


def test_the_peak_is_the_source_s_and_the_paste_moves_its_values(rng) -> None:
    """A source with one hot spot: the target's box sits on it and takes its values."""
    features = np.zeros((2, 2, 20, 30), np.float32)
    features[1, :, 14, 21] = 9.0  # the source of sample 0 (reverse pairing)
    options = MixConfig(num_classes=2, mode="elem")
    draws = MixDraws(source=np.array([1, 0]), lam=np.full(2, 0.75, np.float32), apply=[1, 1])
    ours, _, _ = run_both(features, np.array([0, 1]), options, draws)
    # int(20 * 0.5) // 2 = 5, int(30 * 0.5) // 2 = 7
    assert ours[2][0].tolist() == [9, 14, 19, 28]
    assert ours[0][0, :, 14, 21].tolist() == [9.0, 9.0]
    assert ours[3][0] == np.float32(1 - 10 * 14 / 600)
    assert ours[2][1].tolist() == [0, 0, 5, 7]  # sample 1's source (0) is all zeros: first index


def test_eval_mode_is_the_plain_model_with_one_hot_targets() -> None:
    mixer = FeatureSaliencyMix(identity_net(), ["layer"], num_classes=4, label_smoothing=0.2)
    x = torch.randn(3, 2, 5, 5)
    mixer.eval()
    out, targets, info = mixer(x, torch.tensor([0, 3, 1]), return_info=True)
    assert torch.equal(out, x) and info.layer is None and not info.mixed.any()
    off, on = np.float32(0.2) / np.float32(4), np.float32(0.8) + np.float32(0.2) / np.float32(4)
    assert targets[1].tolist() == [off, off, off, on]
    mixer.train()
    mixer.enabled = False
    out, targets2 = mixer(x, torch.tensor([0, 3, 1]))
    assert torch.equal(out, x) and torch.equal(targets, targets2)


def test_same_seed_same_boxes_and_the_state_restores_the_stream() -> None:
    layers = [f"l{k}" for k in range(3)]

    def mixer(seed):
        net = nn.Sequential(OrderedDict((name, nn.Identity()) for name in layers))
        return FeatureSaliencyMix(net, layers, num_classes=3, mode="elem", seed=seed)

    x, y = torch.randn(5, 3, 11, 13), torch.tensor([0, 1, 2, 0, 1])
    a, b, c = mixer(7), mixer(7), mixer(8)
    steps_a = [a(x, y, return_info=True)[2] for _ in range(4)]
    steps_b = [b(x, y, return_info=True)[2] for _ in range(4)]
    steps_c = [c(x, y, return_info=True)[2] for _ in range(4)]
    for s, t in zip(steps_a, steps_b, strict=True):
        assert s.layer == t.layer and torch.equal(s.boxes, t.boxes) and torch.equal(s.lam, t.lam)
    assert any(not torch.equal(s.boxes, t.boxes) for s, t in zip(steps_a, steps_c, strict=True))
    state = a.state_dict()
    after = [a(x, y, return_info=True)[2] for _ in range(3)]
    c.load_state_dict(state)  # another mixer, same layers: it continues a's stream
    for s, t in zip(after, [c(x, y, return_info=True)[2] for _ in range(3)], strict=True):
        assert s.layer == t.layer and torch.equal(s.boxes, t.boxes)


def test_the_draws_are_the_documented_ones_and_layers_are_uniform() -> None:
    layers = ["a", "b", "c"]
    net = nn.Sequential(OrderedDict((name, nn.Identity()) for name in layers))
    mixer = FeatureSaliencyMix(net, layers, num_classes=3, mode="elem", prob=0.5, seed=3)
    shadow = torch.Generator().manual_seed(3)
    x, y = torch.randn(6, 2, 8, 8), torch.tensor([0, 1, 2] * 2)
    counts = dict.fromkeys(layers, 0)
    for _ in range(300):
        info = mixer(x, y, return_info=True)[2]
        layer = layers[int(torch.randint(3, (), generator=shadow))]
        seed = int(torch.randint(2**63 - 1, (), dtype=torch.int64, generator=shadow))
        expected = draw(6, mixer.options, seed=seed)
        assert info.layer == layer
        np.testing.assert_array_equal(info.mixed.numpy(), expected.apply != 0)
        np.testing.assert_array_equal(info.source.numpy(), expected.source)
        counts[layer] += 1
    assert all(abs(v - 100) < 4.5 * np.sqrt(300 * (1 / 3) * (2 / 3)) for v in counts.values())


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"mixup_alpha": 0.8}, OptionError, "CutMix only.*mixup_alpha must be 0, got 0.8"),
        ({"placement": "target_background"}, OptionError, "placement 'source_peak'"),
        ({"label_weights": "saliency"}, OptionError, "label_weights 'area'"),
        ({"mode": "pair", "pairing": "permutation"}, OptionError, "needs pairing 'reverse'"),
        ({"saliency": "mean"}, ValueError, "saliency must be one of mean_abs, l2, max"),
        ({"layers": ["nope"]}, ValueError, "no layer 'nope' .*children: conv, layer, pool"),
        ({"layers": []}, ValueError, "one or more layer names"),
        ({"layers": ["layer", "layer"]}, ValueError, "each layer once"),
        ({"bogus": 1}, TypeError, "unknown option"),
    ],
)
def test_refusals_name_the_option(fields, error, message) -> None:
    net = nn.Sequential(
        OrderedDict(conv=nn.Conv2d(2, 2, 1), layer=nn.Identity(), pool=nn.Flatten())
    )
    fields = {"layers": ["layer"], "num_classes": 3, **fields}
    with pytest.raises(error, match=message) as caught:
        FeatureSaliencyMix(net, **fields)
    assert "FeatureSaliencyMix" in str(caught.value)


def test_layers_that_cannot_be_mixed_are_refused_at_the_call() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.block(self.block(x))

    x, y = torch.randn(2, 3, 4, 4), torch.tensor([0, 1])
    flat = nn.Sequential(OrderedDict(layer=nn.Flatten(), head=nn.Identity()))
    cases = [
        (flat, "layer", "gives \\(2, 48\\); feature mixing needs .*\\(N, C, H, W\\)"),
        (Twice(), "block", "ran twice in one forward"),
    ]
    for net, layer, message in cases:
        with pytest.raises(FeatureMixError, match=message):
            FeatureSaliencyMix(net, [layer], num_classes=2)(x, y)

    class Skips(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used, self.unused = nn.Identity(), nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x)

    mixer = FeatureSaliencyMix(Skips(), ["unused"], num_classes=2)
    with pytest.raises(FeatureMixError, match="'unused' did not run .* nothing was mixed"):
        mixer(x, y)
    minmax = FeatureSaliencyMix(identity_net(), ["layer"], num_classes=2, cutmix_minmax=(0.2, 0.7))
    with pytest.raises(FeatureMixError, match="\\(0.2, 0.7\\) leaves no box size for the 1 x 5"):
        minmax(torch.randn(2, 3, 1, 5), y)
    with pytest.raises(ValueError, match="labels: sample 1 has class 5"):
        FeatureSaliencyMix(identity_net(), ["layer"], num_classes=2)(x, torch.tensor([0, 5]))
    other = FeatureSaliencyMix(identity_net(), ["layer"], num_classes=2)
    with pytest.raises(ValueError, match="state is of layers \\['used'\\]"):
        other.load_state_dict({"layers": ["used"], "generator": other.generator.get_state()})


def test_remove_leaves_the_plain_model() -> None:
    mixer = FeatureSaliencyMix(identity_net(), ["layer"], num_classes=2, seed=1)
    x = torch.randn(4, 2, 6, 6)
    assert not torch.equal(mixer(x, torch.tensor([0, 1, 0, 1]))[0], x)
    mixer.remove()
    assert torch.equal(mixer.model(x), x)
