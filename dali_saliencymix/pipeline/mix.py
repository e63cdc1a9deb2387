"""Mix and labels: the mixing family on a batch, or one-hot targets, a DALI graph step.

:func:`mix_labels` turns images and class ids into mixed images and soft targets
(``dali_saliencymix.mix``), switched off from an epoch on by a :class:`MixSwitch`; or into one-hot
targets; or leaves the class ids (validation).
"""

from __future__ import annotations

import math

import numpy as np
from nvidia.dali import fn
from nvidia.dali.data_node import DataNode
from nvidia.dali.pipeline import Pipeline

from dali_saliencymix.ops import mix as mix_step
from dali_saliencymix.options import MixConfig
from dali_saliencymix.pipeline.read import READER


class MixSwitch:
    """External-source callback: 1 while mixing is on, 0 from `mix_off_epoch` on.

    The epoch is derived from the pipeline's iteration index (restored by DALI checkpoints) and
    the number of iterations per epoch, which is exact because the reader pads its last batch.
    Prefetched batches therefore switch at the right epoch, not a few batches late.

    In a hand-written pipeline (the factories do this themselves)::

        switch = MixSwitch(batch_size=256, mix_off_epoch=80)
        # inside the pipeline definition, with a reader named "Reader", pad_last_batch=True:
        images, labels = dali_saliencymix.mix(images, labels, enabled=switch.flags(), ...)
        # after pipe.build():
        switch.attach(pipe)
    """

    def __init__(self, batch_size: int, mix_off_epoch: int | None) -> None:
        self.batch_size = batch_size
        self.mix_off_epoch = mix_off_epoch
        self.iterations_per_epoch: int | None = None

    def flags(self) -> DataNode:
        """Graph step: this batch's flags (the ``enabled`` argument of ``mix``)."""
        return fn.external_source(source=self, batch=True, batch_info=True)

    def attach(self, pipe: Pipeline, reader_name: str = READER) -> Pipeline:
        """Take the iterations per epoch from the built pipeline's reader; returns `pipe`.

        Raises:
            ValueError: the reader does not pad its last batch, so epochs would not have a
                fixed number of iterations.

        """
        meta = pipe.reader_meta(reader_name)
        if not meta.get("pad_last_batch", False):
            raise ValueError(
                f"MixSwitch.attach: the reader {reader_name!r} must pad its last batch "
                "(pad_last_batch=True), so that every epoch has the same number of iterations"
            )
        self.iterations_per_epoch = iterations_per_epoch(pipe, reader_name)
        return pipe

    def epoch_of(self, iteration: int) -> int:
        """Epoch (from 0) of a pipeline iteration."""
        if not self.iterations_per_epoch:
            raise RuntimeError("MixSwitch: iterations_per_epoch is not set (pipeline not built)")
        return iteration // self.iterations_per_epoch

    def enabled(self, iteration: int) -> bool:
        """Whether the batch of this pipeline iteration is mixed."""
        return self.mix_off_epoch is None or self.epoch_of(iteration) < self.mix_off_epoch

    def enabled_in_epoch(self, epoch: int) -> bool:
        """Whether the batches of an epoch (from 0) are mixed."""
        return self.mix_off_epoch is None or epoch < self.mix_off_epoch

    def __call__(self, info: object) -> list[np.ndarray]:
        """Per-sample flags of one batch (DALI calls this with a BatchInfo)."""
        flag = np.array(1 if self.enabled(int(info.iteration)) else 0, dtype=np.int32)
        return [flag] * self.batch_size


def iterations_per_epoch(pipe: Pipeline, reader_name: str = READER) -> int:
    """Pipeline iterations per epoch of a reader with ``pad_last_batch=True``."""
    meta = pipe.reader_meta(reader_name)
    per_shard = meta["epoch_size_padded"] // meta["number_of_shards"]
    return max(1, math.ceil(per_shard / pipe.max_batch_size))


def mix_labels(
    images: DataNode,
    labels: DataNode,
    mix: MixConfig | None,
    switch: MixSwitch | None = None,
) -> tuple[DataNode, DataNode]:
    """Graph step: mixed images and soft targets, one-hot targets, or class ids.

    ``mix.enabled``: the mixing family (``dali_saliencymix.mix``: SaliencyMix, CutMix, MixUp as
    configured), switched per batch by `switch` (the mix-off epoch); ``mix`` disabled: one-hot
    float targets of ``mix.num_classes``, smoothed by ``mix.label_smoothing`` as timm does, with
    the class ids checked; ``mix=None``: the class ids as scalars (unchecked: check them where
    they are used, as the trainer's evaluation does).
    """
    if mix is not None and mix.enabled:
        enabled = switch.flags() if switch is not None else None
        return mix_step(images, labels, mix, enabled=enabled)
    if mix is not None:
        # The operator with every coin flip 0: no pixel moves, the targets are the smoothed
        # one-hots, and every class id is checked (fn.one_hot would turn an id outside
        # [0, num_classes), e.g. a shard's malformed label, into a silent row of zeros).
        # (With both alphas 0, as `--mixup 0 --cutmix 0` gives, CutMix's alpha stands in: a
        # valid family that draws nothing at prob 0.)
        alphas = {} if mix.mixup_alpha or mix.cutmix_alpha else {"cutmix_alpha": 1.0}
        never = mix.replace(prob=0.0, enabled=True, mix_off_epoch=None, **alphas)
        return mix_step(images, labels, never)
    return images, fn.reshape(labels, shape=[])
