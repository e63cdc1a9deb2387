#!/usr/bin/env python3
"""Cost of SaliencyMix on feature maps (FeatureSaliencyMix) per training step, in one run.

Per device and model, one training step (forward, soft-target cross-entropy, backward, SGD) on
random 224x224 images, without mixing and with ``FeatureSaliencyMix(layers=layer1,layer2,layer3,
mode="elem", saliency="mean_abs")`` (one layer drawn per step), timed in alternating rounds; the
table gives the median step of each, the median of their ratio per round, and the mixing ops
alone (saliency, peaks, boxes and the masked select, forward and backward, on the feature maps
of each layer, mean over the layers) as a share of the plain step: the ratio includes the
machine's noise, the share does not.

- CPU: ResNet-18 and ResNet-50, batch 8 (float32), torch's CPU threads; times are the
  process's CPU time (ms of all its threads), not the wall-clock.
- GPU (when one is at hand): the same models, batch 256, bf16 autocast, channels-last; the
  card is named. Without a GPU its rows say so.

    python pipelines/bench_feature_mix.py [--cpu-batch 8] [--gpu-batch 256] [--rounds 8]
    python pipelines/bench_feature_mix.py --cpu-batch 0   # the GPU rows only

Needs torchvision (the models).
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F  # noqa: N812

from dali_saliencymix.numpy import draw
from dali_saliencymix.torch import FeatureSaliencyMix
from dali_saliencymix.torch.feature_boxes import mix_feature_map
from dali_saliencymix.torch.feature_draws import checked_draws, pack_draws
from dali_saliencymix.torch.feature_mix import find_layer

LAYERS = ["layer1", "layer2", "layer3"]
ARCHS = ["resnet18", "resnet50"]
CLASSES = 1000


def cpu_name() -> str:
    """The CPU's model name (Linux), or the platform's word for it."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


class Setup:
    """One device and model: the batch, the optimiser, the mixer, and the timed steps."""

    def __init__(self, arch: str, device: torch.device, batch: int) -> None:
        import torchvision

        self.device, self.gpu = device, device.type == "cuda"
        self.model = torchvision.models.get_model(arch, weights=None, num_classes=CLASSES)
        self.model.to(device).train()
        generator = torch.Generator().manual_seed(0)
        self.images = torch.randn(batch, 3, 224, 224, generator=generator).to(device)
        if self.gpu:
            self.model.to(memory_format=torch.channels_last)
            self.images = self.images.contiguous(memory_format=torch.channels_last)
        self.labels = torch.randint(CLASSES, (batch,), generator=generator)  # host, as DALI's
        self.onehot = F.one_hot(self.labels, CLASSES).float().to(device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.mixer = FeatureSaliencyMix(
            self.model, LAYERS, num_classes=CLASSES, mode="elem", saliency="mean_abs", seed=0
        )

    def sync(self) -> None:
        """Wait for the device."""
        if self.gpu:
            torch.cuda.synchronize(self.device)

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on the GPU, nothing on the CPU."""
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.gpu)

    def step(self, mixed: bool) -> None:
        """One training step, with or without the mixer."""
        with self.autocast():
            if mixed:
                logits, targets = self.mixer(self.images, self.labels)
            else:
                logits, targets = self.model(self.images), self.onehot
            loss = F.cross_entropy(logits, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def seconds(self, work: Callable[[], None], repeats: int) -> float:
        """Seconds per call of `work`, over `repeats` calls: wall-clock on the GPU; on the CPU
        the process's CPU time (all its threads), which other jobs on shared cores disturb
        less than the wall-clock."""
        clock = time.perf_counter if self.gpu else time.process_time
        self.sync()
        start = clock()
        for _ in range(repeats):
            work()
        self.sync()
        return (clock() - start) / repeats


def mixing_ops_seconds(setup: Setup, repeats: int) -> float:
    """The mixing ops alone (forward and backward) per step: the mean over the layers."""
    maps: dict[str, torch.Tensor] = {}
    hooks = [
        find_layer(setup.model, name).register_forward_hook(
            lambda m, a, out, name=name: maps.__setitem__(name, out.detach()), prepend=True
        )
        for name in LAYERS
    ]
    with torch.no_grad(), setup.autocast():
        setup.model(setup.images)
    for hook in hooks:
        hook.remove()
    n = len(setup.images)
    arrays = checked_draws(draw(n, setup.mixer.options, seed=1), n, setup.mixer.options)
    packed = pack_draws(arrays, "elem", setup.device)
    costs = []
    for name in LAYERS:
        features = maps[name].requires_grad_()
        grad = torch.ones_like(features)

        def mix_once(
            features: torch.Tensor = features, grad: torch.Tensor = grad, name: str = name
        ) -> None:
            mixed, _, _ = mix_feature_map(features, packed, setup.mixer.rule, name)
            mixed.backward(grad)

        mix_once()
        costs.append(setup.seconds(mix_once, repeats))
    return statistics.mean(costs)


def measure(arch: str, device: torch.device, batch: int, rounds: int, steps: int) -> dict:
    """Median plain and mixed step, the median of their ratio per round (each round times both,
    alternating which goes first, so that a change of the machine's load cancels), and the
    mixing ops' own cost."""
    setup = Setup(arch, device, batch)
    for mixed in (False, True):  # warm-up: allocator, kernels, autotuning
        setup.seconds(lambda mixed=mixed: setup.step(mixed), 2)
    times: dict[bool, list[float]] = {False: [], True: []}
    for r in range(rounds):
        for mixed in (False, True) if r % 2 == 0 else (True, False):
            times[mixed].append(setup.seconds(lambda mixed=mixed: setup.step(mixed), steps))
    ratios = [m / p for p, m in zip(times[False], times[True], strict=True)]
    ops = mixing_ops_seconds(setup, repeats=10 if setup.gpu else 3)
    return {
        "plain": statistics.median(times[False]),
        "mixed": statistics.median(times[True]),
        "ratio": statistics.median(ratios),
        "ops": ops,
    }


def table_rows(args: argparse.Namespace) -> list[str]:
    """The Markdown rows: CPU models, then GPU models or 'no GPU'."""
    rows = []
    places = [("cpu", torch.device("cpu"), args.cpu_batch, cpu_name())] if args.cpu_batch else []
    if torch.cuda.is_available():
        places.append(("gpu", torch.device("cuda"), args.gpu_batch, torch.cuda.get_device_name()))
    for kind, device, batch, name in places:
        for arch in ARCHS:
            m = measure(arch, device, batch, args.rounds, args.steps)
            precision = "bf16, channels-last" if kind == "gpu" else "float32"
            rows.append(
                f"| {kind.upper()} {name} | {arch} | {batch} | {precision} | "
                f"{m['plain'] * 1e3:.1f} | {m['mixed'] * 1e3:.1f} | "
                f"{m['ratio']:.3f} | {m['ops'] * 1e3:.2f} | "
                f"{100 * m['ops'] / m['plain']:.2f}% |"
            )
            print(rows[-1], flush=True)
    if not torch.cuda.is_available():
        rows.append("| GPU | no GPU | | | | | | | |")
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print the table (Markdown)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cpu-batch", type=int, default=8, help="0: no CPU rows")
    p.add_argument("--gpu-batch", type=int, default=256)
    p.add_argument("--rounds", type=int, default=8, help="alternating rounds (median)")
    p.add_argument("--steps", type=int, default=1, help="steps per round and variant")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; layers "
        f"{','.join(LAYERS)}, mode elem, saliency mean_abs, 224x224",
        flush=True,
    )
    header = (
        "| device | model | batch | precision | step ms | step ms, mixed | ratio (paired) | "
        "mixing ops ms | ops / step |\n|---|---|---|---|---|---|---|---|---|"
    )
    print(header, flush=True)
    rows = table_rows(args)
    print("\n" + header + "\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
