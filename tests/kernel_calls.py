"""The package's numpy front end called as the tests compare it: every output, by position."""

from __future__ import annotations

import numpy as np

from dali_saliencymix import MixConfig
from dali_saliencymix.numpy import MixDraws
from dali_saliencymix.numpy import mix as numpy_mix


def mix_numpy(images, labels, *, draws: MixDraws, options: MixConfig):
    """(images, labels, boxes, lams, dest_boxes) of ``numpy.mix`` (dest = boxes unless moved)."""
    images, labels, boxes, lams, _, *dest = numpy_mix(
        images, labels, options, draws=draws, return_info=True
    )
    return images, labels, boxes, lams, dest[0] if dest else boxes


def saliency_mix_numpy(
    images,
    labels,
    *,
    num_classes,
    source,
    lam,
    apply,
    mode="elem",
    label_smoothing=0.0,
    correct_lam=True,
):
    """(images, labels, boxes, lams) of SaliencyMix with the given draws (any pairing)."""
    options = MixConfig(
        num_classes=num_classes,
        mode=mode,
        label_smoothing=label_smoothing,
        correct_lam=correct_lam,
        pairing="reverse" if mode == "pair" else "permutation",
    )
    draws = MixDraws(np.asarray(source), np.asarray(lam), np.asarray(apply))
    return mix_numpy(images, labels, draws=draws, options=options)[:4]
