"""Mixing off from an epoch in a hand-written DALI pipeline: ``MixSwitch`` and ``enabled=``."""

from __future__ import annotations

import pytest
import torch
from nvidia.dali import fn, pipeline_def, types
from nvidia.dali.plugin.pytorch import DALIGenericIterator, LastBatchPolicy
from test_training import contrast_dataset

import dali_saliencymix
from dali_saliencymix.pipeline import MixSwitch


def hand_written(data, switch: MixSwitch, pad_last_batch: bool = True):
    @pipeline_def(batch_size=switch.batch_size, num_threads=1, device_id=None, seed=3)
    def pipe():  # noqa: ANN202
        jpegs, labels = fn.readers.file(
            file_root=str(data), random_shuffle=True, pad_last_batch=pad_last_batch, name="Reader"
        )
        images = fn.decoders.image(jpegs, device="cpu", output_type=types.RGB)
        images = fn.resize(images, size=(32, 32))
        images, labels = dali_saliencymix.mix(images, labels, num_classes=2, enabled=switch.flags())
        return images, labels

    p = pipe()
    p.build()
    return p


def test_a_hand_written_pipeline_stops_mixing_at_the_epoch(tmp_path) -> None:
    """10 files, batches of 4 (3 iterations per epoch, the last padded): epochs 0 and 1 mix,
    2 and 3 do not; DALI prefetches, and the switch still turns at the epoch's first batch."""
    data = contrast_dataset(tmp_path / "data", per_class=5)
    switch = MixSwitch(batch_size=4, mix_off_epoch=2)
    pipe = switch.attach(hand_written(data, switch))
    assert switch.iterations_per_epoch == 3
    loader = DALIGenericIterator(
        pipe,
        ["images", "labels"],
        reader_name="Reader",
        last_batch_policy=LastBatchPolicy.PARTIAL,
        auto_reset=True,
    )
    mixed_per_epoch = []
    for _ in range(4):
        mixed = 0
        for batch in loader:
            targets = batch[0]["labels"]
            torch.testing.assert_close(targets.sum(1), torch.ones(len(targets)))
            mixed += int((targets.max(1).values < 1).sum())
        mixed_per_epoch.append(mixed)
    assert mixed_per_epoch[0] > 0 and mixed_per_epoch[1] > 0
    assert mixed_per_epoch[2:] == [0, 0]
    assert [switch.enabled_in_epoch(e) for e in range(4)] == [True, True, False, False]


def test_the_switch_needs_a_padded_reader_and_to_be_attached(tmp_path) -> None:
    data = contrast_dataset(tmp_path / "data", per_class=3)
    switch = MixSwitch(batch_size=4, mix_off_epoch=1)
    pipe = hand_written(data, switch, pad_last_batch=False)
    with pytest.raises(ValueError, match="must pad its last batch"):
        switch.attach(pipe)
    with pytest.raises(RuntimeError, match="iterations_per_epoch is not set"):
        pipe.run()  # not attached: refused rather than a wrong epoch
