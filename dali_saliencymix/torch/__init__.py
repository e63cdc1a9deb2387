"""PyTorch: the mixing family on tensors, and the iterator that hands DALI's batches to torch.

- :func:`mix`, :func:`saliency_mix`: MixUp / CutMix / SaliencyMix of uint8 tensors on the CPU
  or a CUDA device, without DALI (``tensor_mix``);
- :func:`draw`, :class:`MixDraws`: the random draws (SaliencyMix's, or the family's for options);
- :class:`FeatureSaliencyMix`: SaliencyMix on a model's feature maps, inside the model
  (``feature_mix``; no DALI);
- :class:`SaliencyMixIterator`: ``(images, soft_targets)`` batches from the pipeline factories
  (``iterator``; needs DALI, imported on first use).
"""

from __future__ import annotations

import importlib
from typing import Any

from dali_saliencymix.numpy import MixDraws
from dali_saliencymix.torch.feature_mix import FeatureMixInfo, FeatureSaliencyMix
from dali_saliencymix.torch.tensor_mix import draw, mix, saliency_mix

# Names that need DALI, imported from their modules on first use.
_DALI_NAMES = {"SaliencyMixIterator": "dali_saliencymix.torch.iterator"}


def __getattr__(name: str) -> Any:
    module = _DALI_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'dali_saliencymix.torch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "FeatureMixInfo",
    "FeatureSaliencyMix",
    "MixDraws",
    "SaliencyMixIterator",
    "draw",
    "mix",
    "saliency_mix",
]
