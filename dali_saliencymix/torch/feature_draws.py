"""The draws of ``FeatureSaliencyMix``: its generator, checks, and the draws packed per sample.

The draws are the mixing family's (``dali_saliencymix.numpy.draw``); which sample's draw governs
each sample is the image operator's rule (``plugin_src/mix/plan.h``,
``GoverningIndex``; docs/algorithm.md, "Whose draw governs a sample").
"""

from __future__ import annotations

import numpy as np
import torch

from dali_saliencymix.numpy import DrawArrays, MixDraws
from dali_saliencymix.options import MixConfig

WHO = "FeatureSaliencyMix"

# Columns of the packed per-sample draws (float64, N x 7): the partner, then the governing
# sample's lam, coin flip and four uniform box draws.
SOURCE, LAM, APPLY, BOX_DRAWS = 0, 1, 2, slice(3, 7)
PACKED_COLUMNS = 7


def make_generator(seed: int | torch.Generator | None) -> torch.Generator:
    """The CPU generator of the draws: `seed` itself, or a new one seeded by `seed`.

    None: seeded by torch's global generator, so that ``torch.manual_seed`` makes it
    reproducible.
    """
    if isinstance(seed, torch.Generator):
        if seed.device.type != "cpu":
            raise ValueError(
                f"{WHO}: seed: expected a CPU torch.Generator, got one on {seed.device}"
            )
        return seed
    generator = torch.Generator()
    if seed is None:
        seed = int(torch.randint(2**62, (), dtype=torch.int64))
    return generator.manual_seed(int(seed))


def checked_draws(draws: MixDraws, num_samples: int, options: MixConfig) -> DrawArrays:
    """Explicit draws, checked as the family checks them, plus what CutMix on features needs."""
    arrays = DrawArrays.of(draws, num_samples, WHO)
    if arrays.cutmix is not None and not arrays.cutmix.all():
        i = int(np.flatnonzero(arrays.cutmix == 0)[0])
        raise ValueError(f"{WHO}: draws.cutmix: sample {i} is MixUp (0); feature mixing is CutMix")
    bad = ~((arrays.lam >= 0) & (arrays.lam <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{WHO}: draws.lam: sample {i} is {arrays.lam[i]}, expected [0, 1]")
    if options.uses_box_draws:
        if arrays.box is None or not ((arrays.box >= 0) & (arrays.box <= 1)).all():
            raise ValueError(
                f"{WHO}: draws.box: a random box or cutmix_minmax needs four uniform draws in "
                "[0, 1] per sample"
            )
    if options.mode == "pair" and not np.array_equal(
        arrays.source[arrays.source], np.arange(num_samples)
    ):
        raise ValueError(f"{WHO}: draws.source: mode 'pair' needs pairs (source[source[i]] == i)")
    return arrays


def pack_draws(arrays: DrawArrays, mode: str, device: torch.device) -> torch.Tensor:
    """The per-sample draws as one float64 (N, 7) tensor on `device` (one copy, no wait).

    Each row: the partner, then the lam, coin flip and box draws of the governing sample:
    itself (elem), sample 0 (batch), min(i, source[i]) (pair). float32 and int32 values are
    exact in float64.
    """
    n = len(arrays.source)
    governing = np.arange(n)
    if mode == "batch":
        governing = np.zeros(n, np.int64)
    elif mode == "pair":
        governing = np.minimum(governing, arrays.source)
    packed = np.zeros((n, PACKED_COLUMNS), np.float64)
    packed[:, SOURCE] = arrays.source
    packed[:, LAM] = arrays.lam[governing]
    packed[:, APPLY] = arrays.apply[governing]
    if arrays.box is not None:
        packed[:, BOX_DRAWS] = arrays.box[governing]
    host = torch.from_numpy(packed)
    if device.type == "cuda":
        host = host.pin_memory()
    return host.to(device, non_blocking=True)
