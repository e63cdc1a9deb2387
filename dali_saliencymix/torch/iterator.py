"""To PyTorch: the iterator over the factories' pipelines, ``(images, soft_targets)`` batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from nvidia.dali.pipeline import Pipeline
from nvidia.dali.plugin.base_iterator import LastBatchPolicy
from nvidia.dali.plugin.pytorch import DALIGenericIterator

from dali_saliencymix.data.shard_failures import named_error
from dali_saliencymix.pipeline.factories import DataPipeline
from dali_saliencymix.pipeline.read import READER


class SaliencyMixIterator:
    """Batches of ``(images, soft_targets)`` from pipelines of ``train_pipeline``/``val_pipeline``.

    Built on DALI's ``DALIGenericIterator``: ``len()`` is the number of batches per epoch (sized
    from the reader, per shard), DALI's last-batch policies apply (``PARTIAL`` by default: each
    shard's last batch is trimmed to its real samples, so over one epoch the shards together
    read every file exactly once; when shard sizes differ, a shard's last batch can be empty),
    and the iterator resets itself after each epoch. The soft
    targets are float32 ``[B, num_classes]`` rows that sum to 1 and feed
    ``torch.nn.functional.cross_entropy`` directly. With several pipelines (one per GPU in one
    process) each item is a list of such pairs.

    The iterator counts epochs (``epoch``; pass ``start_epoch`` when resuming) and reports
    whether they are mixed (``mix_enabled``, from the pipelines' mix-off switch). A file that
    DALI cannot read or decode mid-epoch raises
    :class:`~dali_saliencymix.data.decode_check.DataError` naming the file (see
    ``dali_saliencymix.data.decode_check.explain_failure``; from shards it names the tar and
    the sample, see ``dali_saliencymix.data.shard_failures``). Plain DALI pipelines are accepted
    too (no switch, no file names).
    """

    def __init__(
        self,
        pipelines: DataPipeline | Pipeline | Sequence[DataPipeline | Pipeline],
        *,
        last_batch_policy: LastBatchPolicy = LastBatchPolicy.PARTIAL,
        reader_name: str = READER,
        auto_reset: bool = True,
        start_epoch: int = 0,
    ) -> None:
        if isinstance(pipelines, (DataPipeline, Pipeline)):
            pipelines = [pipelines]
        self.sources = [p for p in pipelines if isinstance(p, DataPipeline)]
        self.pipelines = [p.pipeline if isinstance(p, DataPipeline) else p for p in pipelines]
        try:  # DALI's iterator runs the first batch now
            self._iterator = DALIGenericIterator(
                self.pipelines,
                ["data", "label"],
                reader_name=reader_name,
                last_batch_policy=last_batch_policy,
                auto_reset=auto_reset,
            )
        except RuntimeError as err:
            raise self._named(err) from err
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
        except RuntimeError as err:
            raise self._named(err) from err
        pairs = [(o["data"], o["label"]) for o in outputs]
        return pairs[0] if len(pairs) == 1 else pairs

    @property
    def classes(self) -> list[str] | None:
        """Class names in id order, from the first pipeline's dataset (None for plain ones)."""
        return self.sources[0].classes if self.sources else None

    @property
    def mix_enabled(self) -> bool:
        """Whether the batches of the current epoch are mixed (see ``MixConfig.mix_off_epoch``)."""
        return bool(self.sources) and self.sources[0].mix_enabled(self.epoch)

    def _named(self, err: RuntimeError) -> RuntimeError:
        """A DataError naming the file (or shard sample) behind a DALI error, or the error."""
        return named_error(err, [s.dataset for s in self.sources])

    def checkpoints(self) -> list[str]:
        """DALI checkpoints of the pipelines (needs ``enable_checkpointing=True``)."""
        return self._iterator.checkpoints()
