"""FeatureSaliencyMix as a training component: gradients reach the target and the source,
autocast (bf16, fp16), channels-last, torch.compile on the CPU, and DDP over two gloo ranks."""

from __future__ import annotations

import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from feature_mix_reference import reference_feature_mix
from torch import nn

from dali_saliencymix.numpy import MixDraws, draw
from dali_saliencymix.torch import FeatureSaliencyMix


def small_net(pointwise: bool = False) -> nn.Module:
    """stem -> relu -> layer1 -> layer2 (stride 2) -> pool -> fc; a 1x1 stem keeps pixels apart."""
    k = 1 if pointwise else 3
    return nn.Sequential(
        OrderedDict(
            stem=nn.Conv2d(3, 6, k, padding=k // 2),
            relu=nn.ReLU(),
            layer1=nn.Identity() if pointwise else nn.Conv2d(6, 6, 3, padding=1),
            layer2=nn.Conv2d(6, 8, 3, stride=2, padding=1),
            pool=nn.AdaptiveAvgPool2d(1),
            flat=nn.Flatten(),
            fc=nn.Linear(8, 4),
        )
    )


def captured(net: nn.Module, layer: str, after: str) -> dict:
    """The output of `layer` before mixing, and what `after` receives (the mixed maps)."""
    seen: dict = {}
    net.get_submodule(layer).register_forward_hook(
        lambda m, a, out: seen.__setitem__("before", out.detach().clone()), prepend=True
    )
    net.get_submodule(after).register_forward_pre_hook(
        lambda m, args: seen.__setitem__("mixed", args[0].detach().clone())
    )
    return seen


def test_gradients_reach_the_source_inside_the_box_and_the_target_outside() -> None:
    torch.manual_seed(0)
    net = small_net(pointwise=True)
    mixer = FeatureSaliencyMix(net, ["layer1"], num_classes=4, mode="elem")
    images = torch.randn(2, 3, 12, 12, requires_grad=True)
    draws = MixDraws(source=np.array([1, 0]), lam=np.full(2, 0.6, np.float32), apply=[1, 0])
    logits, _, info = mixer(images, torch.tensor([0, 1]), draws=draws, return_info=True)
    logits[0].sum().backward()  # sample 0 only: its target branch and its source's
    y1, x1, y2, x2 = info.boxes[0].tolist()
    assert (y2 - y1) * (x2 - x1) > 0
    inside = torch.zeros(12, 12, dtype=torch.bool)
    inside[y1:y2, x1:x2] = True
    moved = images.grad.abs().sum(1)  # (2, 12, 12)
    assert (moved[1][inside] > 0).all() and (moved[1][~inside] == 0).all()  # the source's pixels
    assert (moved[0][inside] == 0).all() and (moved[0][~inside] > 0).all()  # the target's


def test_the_stem_gradient_changes_when_the_pasted_region_changes() -> None:
    torch.manual_seed(1)
    net = small_net()
    mixer = FeatureSaliencyMix(net, ["layer1"], num_classes=4, mode="elem")
    images, labels = torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 3])

    def stem_gradient(lam: float, apply: int) -> torch.Tensor:
        net.zero_grad()
        draws = MixDraws(np.array([3, 2, 1, 0]), np.full(4, lam, np.float32), [apply] * 4)
        logits, targets = mixer(images, labels, draws=draws, layer="layer1")
        nn.functional.cross_entropy(logits, targets).backward()
        return net.stem.weight.grad.clone()

    plain, small, large = stem_gradient(0.5, 0), stem_gradient(0.9, 1), stem_gradient(0.3, 1)
    assert not torch.allclose(plain, small) and not torch.allclose(small, large)
    assert torch.equal(small, stem_gradient(0.9, 1))  # and only the region changed it


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("kind", ["mean_abs", "l2", "max"])
def test_autocast_mixes_the_low_precision_maps_by_the_rule(dtype, kind) -> None:
    torch.manual_seed(2)
    net = small_net()
    seen = captured(net, "layer1", "layer2")
    mixer = FeatureSaliencyMix(net, ["layer1"], num_classes=4, mode="elem", saliency=kind)
    images, labels = torch.randn(6, 3, 15, 13), torch.arange(6) % 4
    draws = draw(6, mixer.options, seed=5)
    with torch.autocast("cpu", dtype=dtype):
        logits, targets, info = mixer(images, labels, draws=draws, return_info=True)
    assert seen["before"].dtype == dtype and seen["mixed"].dtype == dtype
    assert targets.dtype == torch.float32
    features = seen["before"].float().numpy()
    expected = reference_feature_mix(
        features,
        labels.numpy(),
        num_classes=4,
        source=draws.source,
        lam=draws.lam,
        apply=draws.apply,
        saliency=kind,
    )
    np.testing.assert_array_equal(seen["mixed"].float().numpy(), expected[0])
    np.testing.assert_array_equal(info.boxes.numpy(), expected[2])
    np.testing.assert_array_equal(targets.numpy(), expected[1])


def test_channels_last_maps_stay_channels_last_with_the_same_values() -> None:
    torch.manual_seed(3)
    net = small_net()
    seen = captured(net, "layer1", "layer2")
    mixer = FeatureSaliencyMix(net, ["layer1"], num_classes=4, mode="batch")
    images, labels = torch.randn(5, 3, 14, 14), torch.arange(5) % 4
    draws = draw(5, mixer.options, seed=9)
    dense, _, info = mixer(images, labels, draws=draws, return_info=True)
    dense_mixed = seen["mixed"]
    net.to(memory_format=torch.channels_last)
    last = images.contiguous(memory_format=torch.channels_last)
    logits, _, info_last = mixer(last, labels, draws=draws, return_info=True)
    assert seen["before"].is_contiguous(memory_format=torch.channels_last)
    assert seen["mixed"].is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(info.boxes, info_last.boxes)
    torch.testing.assert_close(seen["mixed"], dense_mixed)
    torch.testing.assert_close(logits, dense)


@pytest.mark.skipif(
    not (shutil.which("g++") or shutil.which("c++")), reason="inductor needs a C++ compiler"
)
def test_torch_compile_on_the_cpu_gives_the_eager_boxes_and_gradients() -> None:
    """Inductor on the CPU (a C++ compiler): one graph, reused by the following calls."""
    torch.manual_seed(4)
    eager_net, compiled_net = small_net(), small_net()
    compiled_net.load_state_dict(eager_net.state_dict())
    options = {"layers": ["layer1"], "num_classes": 4, "mode": "elem"}
    eager = FeatureSaliencyMix(eager_net, **options)
    compiled = FeatureSaliencyMix(torch.compile(compiled_net), **options)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    for step in range(3):
        images, labels = torch.randn(6, 3, 16, 16), torch.arange(6) % 4
        draws = draw(6, eager.options, seed=step)
        results = []
        for mixer in (eager, compiled):
            mixer.model.zero_grad()
            logits, targets, info = mixer(images, labels, draws=draws, return_info=True)
            nn.functional.cross_entropy(logits, targets).backward()
            results.append((logits, targets, info))
        (a_logits, a_targets, a_info), (b_logits, b_targets, b_info) = results
        assert torch.equal(a_info.boxes, b_info.boxes) and torch.equal(a_info.lam, b_info.lam)
        torch.testing.assert_close(b_logits, a_logits)
        torch.testing.assert_close(b_targets, a_targets)
        torch.testing.assert_close(compiled_net.stem.weight.grad, eager_net.stem.weight.grad)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1


def _ddp_rank(rank: int, world: int, init: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    torch.manual_seed(0)  # the same weights on both ranks
    net, local = small_net(), small_net()
    local.load_state_dict(net.state_dict())
    ddp = nn.parallel.DistributedDataParallel(net)
    images = torch.randn(4, 3, 12, 12, generator=torch.Generator().manual_seed(rank))
    labels = torch.tensor([0, 1, 2, 3])
    grads = []
    for model in (ddp, local):
        mixer = FeatureSaliencyMix(model, ["layer1", "layer2"], num_classes=4, seed=10 + rank)
        logits, targets, info = mixer(images, labels, return_info=True)
        nn.functional.cross_entropy(logits, targets).backward()
        stem = model.module.stem if model is ddp else model.stem
        grads.append(stem.weight.grad.clone())
    gathered = [None] * world
    dist.all_gather_object(gathered, {"ddp": grads[0], "local": grads[1], "layer": info.layer})
    if rank == 0:
        torch.save(gathered, out)
    dist.destroy_process_group()


def test_ddp_averages_the_mixed_gradients_of_the_ranks(tmp_path: Path) -> None:
    """Each rank mixes with its own generator; DDP's gradient is the mean of theirs."""
    out = tmp_path / "grads.pt"
    mp.spawn(_ddp_rank, args=(2, f"file://{tmp_path / 'init'}", str(out)), nprocs=2, join=True)
    ranks = torch.load(out, weights_only=False)
    mean = (ranks[0]["local"] + ranks[1]["local"]) / 2
    for r in ranks:
        torch.testing.assert_close(r["ddp"], mean)
    assert not torch.allclose(ranks[0]["local"], ranks[1]["local"])
