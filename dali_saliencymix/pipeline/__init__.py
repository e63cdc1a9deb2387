"""The input pipeline, step by step: read -> decode -> mix and labels -> normalise.

- :mod:`.read`: the dataset's encoded files and class ids (folders, lists, WebDataset shards);
- :mod:`.decode`: uint8 RGB images, on the GPU (``"mixed"``) or the CPU, resized;
- :mod:`.mix`: the mixing family and soft targets, with the mix-off switch (:class:`MixSwitch`,
  also for hand-written pipelines);
- :mod:`.normalise`: flip, mean/std, float CHW or HWC;
- :mod:`.factories`: :func:`train_pipeline` and :func:`val_pipeline`, built from those steps;
- :mod:`.data_config`: the model's size, mean, std and interpolation (:func:`timm_data_config`).
"""

from __future__ import annotations

from dali_saliencymix.options import MixConfig
from dali_saliencymix.pipeline.data_config import timm_data_config
from dali_saliencymix.pipeline.decode import decode, resize
from dali_saliencymix.pipeline.factories import DataPipeline, train_pipeline, val_pipeline
from dali_saliencymix.pipeline.mix import MixSwitch, iterations_per_epoch, mix_labels
from dali_saliencymix.pipeline.normalise import normalise
from dali_saliencymix.pipeline.read import READER, read_files, read_shards

__all__ = [
    "READER",
    "DataPipeline",
    "MixConfig",
    "MixSwitch",
    "decode",
    "iterations_per_epoch",
    "mix_labels",
    "normalise",
    "read_files",
    "read_shards",
    "resize",
    "timm_data_config",
    "train_pipeline",
    "val_pipeline",
]
