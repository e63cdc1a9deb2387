"""The trainer's models: a tiny network for smoke runs, or any torchvision model by name."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn


class TinyNet(nn.Module):
    """A small convolutional classifier for smoke runs and tests."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            )

        self.features = nn.Sequential(block(3, 16), block(16, 32), block(32, 64), block(64, 64))
        self.head = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, num_classes) of images (N, 3, H, W)."""
        return self.head(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class ModelError(RuntimeError):
    """The model cannot be built (e.g. torchvision is missing); the message says what to do."""


def build_model(arch: str, num_classes: int) -> nn.Module:
    """`tiny`, or a torchvision model by name (resnet50 by default)."""
    if arch == "tiny":
        return TinyNet(num_classes)
    try:
        import torchvision
    except Exception as err:  # noqa: BLE001 - any failure to import it is the answer
        raise ModelError(
            f"--arch {arch} needs torchvision, which does not import here ({type(err).__name__}: "
            f"{err}); install the torchvision release of your torch, or use --arch tiny"
        ) from None
    try:
        return torchvision.models.get_model(arch, weights=None, num_classes=num_classes)
    except ValueError as err:
        raise ModelError(f"--arch {arch}: {err}") from None
