"""PyTorch iterator over SaliencyMix training pipelines: ``(images, soft_targets)`` batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from nvidia.dali.pipeline import Pipeline
from nvidia.dali.plugin.base_iterator import LastBatchPolicy
from nvidia.dali.plugin.pytorch import DALIGenericIterator

from dali_saliencymix.pipeline import READER


class SaliencyMixIterator:
    """Batches of ``(images, soft_targets)`` from one or more pipelines of ``train_pipeline``.

    Built on DALI's ``DALIGenericIterator``: ``len()`` is the number of batches per epoch (sized
    from the reader, per shard), DALI's last-batch policies apply (``PARTIAL`` by default: each
    shard's last batch is trimmed to its real samples, so over one epoch the shards together
    read every file exactly once; when shard sizes differ, a shard's last batch can be empty),
    and the iterator resets itself after each epoch. The soft
    targets are float32 ``[B, num_classes]`` rows that sum to 1 and feed
    ``torch.nn.functional.cross_entropy`` directly. With several pipelines (one per GPU in one
    process) each item is a list of such pairs.
    """

    def __init__(
        self,
        pipelines: Pipeline | Sequence[Pipeline],
        *,
        last_batch_policy: LastBatchPolicy = LastBatchPolicy.PARTIAL,
        reader_name: str = READER,
        auto_reset: bool = True,
        start_epoch: int = 0,
    ) -> None:
        self.pipelines = [pipelines] if isinstance(pipelines, Pipeline) else list(pipelines)
        self._iterator = DALIGenericIterator(
            self.pipelines,
            ["data", "label"],
            reader_name=reader_name,
            last_batch_policy=last_batch_policy,
            auto_reset=auto_reset,
        )
        self.epoch = start_epoch  # pass the epoch restored from a checkpoint

    def __len__(self) -> int:
        return len(self._iterator)

    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor] | list[tuple[torch.Tensor, ...]]:
        try:
            outputs = next(self._iterator)
        except StopIteration:
            self.epoch += 1
            raise
        pairs = [(o["data"], o["label"]) for o in outputs]
        return pairs[0] if len(pairs) == 1 else pairs

    @property
    def mix_enabled(self) -> bool:
        """Whether the batches of the current epoch are mixed (see ``MixConfig.mix_off_epoch``)."""
        switch = getattr(self.pipelines[0], "mix_switch", None)
        if switch is None:
            return False
        return switch.mix_off_epoch is None or self.epoch < switch.mix_off_epoch

    def checkpoints(self) -> list[str]:
        """DALI checkpoints of the pipelines (needs ``enable_checkpointing=True``)."""
        return self._iterator.checkpoints()
