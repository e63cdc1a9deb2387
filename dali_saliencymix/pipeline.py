"""Pipeline factories modelled on DALI's ResNet-50 example, with SaliencyMix built in.

The graph steps, shared by the training, validation and preview pipelines:

- :func:`read_files`: the dataset's files and class ids (``fn.readers.file`` over the list that
  :mod:`dali_saliencymix.dataset` defines), sharded and shuffled;
- :func:`decode`: decode (with a random crop window for training) on the GPU or CPU;
- :func:`mix_labels`: SaliencyMix with its mix-off switch, one-hot targets, or class ids;
- :func:`normalise`: flip, normalise, CHW or HWC float.

Training: read_files -> decode with random crop -> resize -> mix_labels -> normalise.
Validation: read_files -> decode -> resize shorter side -> normalise with centre crop.
``device_id=None`` builds an all-CPU pipeline that runs without a GPU. The factories return a
:class:`DataPipeline`: the built DALI pipeline, the dataset it reads and its mix-off switch.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nvidia.dali import fn, pipeline_def, types
from nvidia.dali.data_node import DataNode
from nvidia.dali.pipeline import Pipeline

from dali_saliencymix.check import DataError, explain_failure
from dali_saliencymix.dataset import ImageFolder, load_dataset
from dali_saliencymix.mix_options import MixConfig
from dali_saliencymix.mixing import mix as mix_step
from dali_saliencymix.shards import ShardSet, read_shards

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
    "train_pipeline",
    "val_pipeline",
]

READER = "Reader"
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)


class MixSwitch:
    """External-source callback: 1 while mixing is on, 0 from `mix_off_epoch` on.

    The epoch is derived from the pipeline's iteration index (restored by DALI checkpoints) and
    the number of iterations per epoch, which is exact because the reader pads its last batch.
    Prefetched batches therefore switch at the right epoch, not a few batches late.
    """

    def __init__(self, batch_size: int, mix_off_epoch: int | None) -> None:
        self.batch_size = batch_size
        self.mix_off_epoch = mix_off_epoch
        self.iterations_per_epoch: int | None = None

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


@dataclass
class DataPipeline:
    """A built DALI pipeline, the dataset it reads, and (when mixing) its mix-off switch.

    ``SaliencyMixIterator`` takes it as it is. ``run()`` runs one iteration like
    ``pipeline.run()``, but a file that DALI cannot read or decode raises
    :class:`~dali_saliencymix.check.DataError` naming the file.
    """

    pipeline: Pipeline
    dataset: ImageFolder | ShardSet
    shard_id: int = 0
    num_shards: int = 1
    mix_switch: MixSwitch | None = None

    @property
    def classes(self) -> list[str]:
        """Class names in id order (the class map; empty for shards without a manifest)."""
        return list(self.dataset.classes or [])

    def mix_enabled(self, epoch: int) -> bool:
        """Whether the batches of an epoch (from 0) are mixed."""
        return self.mix_switch is not None and self.mix_switch.enabled_in_epoch(epoch)

    def explain(self, err: BaseException) -> DataError | None:
        """A DataError naming the file behind a DALI error of this pipeline, or None."""
        if not isinstance(self.dataset, ImageFolder):
            return None  # a shard's sample: DALI's message names the tar and the member
        message = explain_failure(err, [self.dataset])
        return DataError(message) if message else None

    def run(self) -> tuple:
        """One iteration's outputs (``pipeline.run()``), naming the file when one fails."""
        try:
            return self.pipeline.run()
        except RuntimeError as err:
            named = self.explain(err)
            if named is None:
                raise
            raise named from err


def iterations_per_epoch(pipe: Pipeline, reader_name: str = READER) -> int:
    """Pipeline iterations per epoch of a reader with ``pad_last_batch=True``."""
    meta = pipe.reader_meta(reader_name)
    per_shard = meta["epoch_size_padded"] // meta["number_of_shards"]
    return max(1, math.ceil(per_shard / pipe.max_batch_size))


# File lists handed to fn.readers.file: DALI reads them when the pipeline is built; the
# factories delete them then, other users' lists go with the folder at exit.
_LIST_DIR: tempfile.TemporaryDirectory | None = None
_PENDING_LISTS: list[Path] = []


def read_files(
    source: ImageFolder | ShardSet,
    *,
    shard_id: int = 0,
    num_shards: int = 1,
    shuffle: bool = False,
    seed: int | None = None,
    pad_last_batch: bool = True,
    name: str = READER,
) -> tuple[DataNode, DataNode]:
    """Graph step: the encoded files of `source` and their class ids (int32, shape (1,)).

    `source` is a dataset from :mod:`dali_saliencymix.dataset` (``scan_image_folder``,
    ``read_file_list`` or ``load_dataset``): exactly its files are read, with its labels,
    through ``fn.readers.file(file_list=...)`` (a list written for DALI, which reads it when
    the pipeline is built; far lighter than ``files=`` for a million files). Shards are
    contiguous ranges of the list; with `shuffle`, DALI first shuffles the whole list once (the
    same order on every rank), then draws batches from a buffer. WebDataset shards
    (:class:`~dali_saliencymix.shards.ShardSet`) are read by ``fn.readers.webdataset`` with the
    same outputs and the same rank split (:func:`~dali_saliencymix.shards.read_shards`). Call
    inside a pipeline definition.
    """
    if isinstance(source, ShardSet):
        return read_shards(
            source,
            shard_id=shard_id,
            num_shards=num_shards,
            shuffle=shuffle,
            seed=seed,
            name=name,
            pad_last_batch=pad_last_batch,
        )
    if not isinstance(source, ImageFolder):
        raise TypeError(
            f"read_files: expected a dataset from dali_saliencymix.dataset (ImageFolder or "
            f"ShardSet), got {type(source).__name__}"
        )
    kwargs: dict[str, object] = {
        "file_list": str(_write_file_list(source)),
        "shard_id": shard_id,
        "num_shards": num_shards,
        "random_shuffle": shuffle,
        "pad_last_batch": pad_last_batch,
        "name": name,
    }
    if seed is not None:
        kwargs["seed"] = seed
    return fn.readers.file(**kwargs)


def decode(
    encoded: DataNode,
    *,
    device: str = "cpu",
    random_area: tuple[float, float] | None = None,
    to_gpu: bool = False,
) -> DataNode:
    """Graph step: decode to uint8 RGB HWC, on the GPU (``"mixed"``) or the CPU.

    With `random_area`, only a random crop window is decoded (area fraction in that range,
    aspect ratio 3/4 to 4/3, as ``RandomResizedCrop``). `to_gpu` moves CPU-decoded images to the
    GPU for the following steps.
    """
    if random_area is not None:
        images = fn.decoders.image_random_crop(
            encoded,
            device=device,
            output_type=types.RGB,
            random_area=list(random_area),
            random_aspect_ratio=[0.75, 4.0 / 3.0],
            num_attempts=100,
        )
    else:
        images = fn.decoders.image(encoded, device=device, output_type=types.RGB)
    if to_gpu and device == "cpu":
        images = images.gpu()
    return images


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
        enabled = None
        if switch is not None:
            enabled = fn.external_source(source=switch, batch=True, batch_info=True)
        return mix_step(images, labels, **mix.op_kwargs(), enabled=enabled)
    if mix is not None:
        # The operator with every coin flip 0: no pixel moves, the targets are the smoothed
        # one-hots, and every class id is checked (fn.one_hot would turn an id outside
        # [0, num_classes), e.g. a shard's malformed label, into a silent row of zeros).
        never = dataclasses.replace(mix, prob=0.0, enabled=True, mix_off_epoch=None)
        return mix_step(images, labels, **never.op_kwargs())
    return images, fn.reshape(labels, shape=[])


def normalise(
    images: DataNode,
    *,
    channels_last: bool = False,
    mirror: DataNode | bool = False,
    crop: int | None = None,
) -> DataNode:
    """Graph step: (centre crop,) flip, ImageNet normalisation, float32 CHW or HWC."""
    kwargs: dict[str, object] = {"crop": (crop, crop)} if crop is not None else {}
    return fn.crop_mirror_normalize(
        images,
        dtype=types.FLOAT,
        output_layout="HWC" if channels_last else "CHW",
        mirror=mirror,
        mean=list(IMAGENET_MEAN),
        std=list(IMAGENET_STD),
        **kwargs,
    )


def train_pipeline(
    data_dir: str | Path | ImageFolder | ShardSet | None = None,
    *,
    file_list: str | Path | None = None,
    exclude: Iterable[str | Path] = (),
    batch_size: int = 64,
    num_threads: int = 4,
    device_id: int | None = 0,
    shard_id: int = 0,
    num_shards: int = 1,
    seed: int = 0,
    crop: int = 224,
    mix: MixConfig | None = None,
    decode_device: str | None = None,
    channels_last: bool = False,
    random_area: tuple[float, float] = (0.08, 1.0),
    enable_checkpointing: bool = False,
    checkpoint: str | None = None,
    prefetch_queue_depth: int = 2,
) -> DataPipeline:
    """Training pipeline: outputs ``data`` (float, CHW or HWC) and ``label`` (float32 [C]).

    Args:
        data_dir: folder of class sub-folders (or the root of ``file_list`` paths), a folder of
            WebDataset shards (``dali-saliencymix shards``), or a dataset already loaded
            (``dali_saliencymix.dataset.load_dataset``).
        file_list: text file of ``path label`` lines (DALI's format, e.g. the ``files.txt``
            that ``dali-saliencymix check`` writes).
        exclude: files to leave out (e.g. ``dataset.excluded_by_check(data_dir)``).
        batch_size: samples per batch and shard.
        num_threads: CPU threads of the pipeline.
        device_id: GPU to use, or None for an all-CPU pipeline (no GPU needed).
        shard_id: this process's shard (its rank).
        num_shards: number of shards (the world size).
        seed: pipeline seed; give each rank its own (e.g. ``seed + rank``).
        crop: output size (square).
        mix: SaliencyMix options. ``MixConfig(num_classes=C, enabled=False)`` gives one-hot
            float targets; None gives the reader's integer class ids.
        decode_device: ``"mixed"`` (GPU) or ``"cpu"``; default: mixed with a GPU.
        channels_last: output HWC instead of CHW.
        random_area: area range of the random resized crop.
        enable_checkpointing: allow ``pipeline.checkpoint()``.
        checkpoint: restore from a checkpoint made by ``pipeline.checkpoint()``.
        prefetch_queue_depth: DALI's prefetch depth.

    Returns:
        The built pipeline with its dataset and, when mixing, the mix-off switch.

    """
    if mix is not None:
        mix.check()  # a config changed after it was made
    dataset = load_dataset(
        data_dir, file_list, num_classes=mix.num_classes if mix else None, exclude=exclude
    )
    gpu, decode_device = _devices("train_pipeline", device_id, decode_device)
    switch = MixSwitch(batch_size, mix.mix_off_epoch) if mix is not None and mix.enabled else None

    @pipeline_def(
        batch_size=batch_size,
        num_threads=num_threads,
        device_id=device_id,
        seed=seed,
        enable_checkpointing=enable_checkpointing or checkpoint is not None,
        prefetch_queue_depth=prefetch_queue_depth,
    )
    def pipe():  # noqa: ANN202
        encoded, labels = read_files(
            dataset, shard_id=shard_id, num_shards=num_shards, shuffle=True, seed=seed
        )
        images = decode(encoded, device=decode_device, random_area=random_area, to_gpu=gpu)
        images = fn.resize(images, resize_x=crop, resize_y=crop)
        images, labels = mix_labels(images, labels, mix, switch)
        mirror = fn.random.coin_flip(probability=0.5)
        images = normalise(images, channels_last=channels_last, mirror=mirror)
        return images, (labels.gpu() if gpu else labels)

    p = _build(pipe(checkpoint=checkpoint) if checkpoint is not None else pipe())
    if switch is not None:
        switch.iterations_per_epoch = iterations_per_epoch(p)
    return DataPipeline(p, dataset, shard_id, num_shards, switch)


def val_pipeline(
    data_dir: str | Path | ImageFolder | ShardSet | None = None,
    *,
    file_list: str | Path | None = None,
    classes: list[str] | None = None,
    exclude: Iterable[str | Path] = (),
    batch_size: int = 64,
    num_threads: int = 4,
    device_id: int | None = 0,
    shard_id: int = 0,
    num_shards: int = 1,
    crop: int = 224,
    resize: int = 256,
    channels_last: bool = False,
    decode_device: str | None = None,
) -> DataPipeline:
    """Validation pipeline: resize the shorter side, centre crop, normalise; int labels.

    `classes`: the training class map (``train.classes``); validation class folders get their
    training ids, and a folder that training lacks is an error.
    """
    dataset = load_dataset(data_dir, file_list, classes=classes, exclude=exclude)
    gpu, decode_device = _devices("val_pipeline", device_id, decode_device)

    @pipeline_def(batch_size=batch_size, num_threads=num_threads, device_id=device_id, seed=0)
    def pipe():  # noqa: ANN202
        encoded, labels = read_files(dataset, shard_id=shard_id, num_shards=num_shards)
        images = decode(encoded, device=decode_device, to_gpu=gpu)
        images = fn.resize(images, resize_shorter=resize)
        images, labels = mix_labels(images, labels, None)
        images = normalise(images, channels_last=channels_last, crop=crop)
        return images, (labels.gpu() if gpu else labels)

    return DataPipeline(_build(pipe()), dataset, shard_id, num_shards)


def _devices(who: str, device_id: int | None, decode_device: str | None) -> tuple[bool, str]:
    gpu = device_id is not None
    decode_device = decode_device or ("mixed" if gpu else "cpu")
    if decode_device == "mixed" and not gpu:
        raise ValueError(f"{who}: decode_device='mixed' needs a GPU (device_id)")
    return gpu, decode_device


def _write_file_list(source: ImageFolder) -> Path:
    global _LIST_DIR
    if _LIST_DIR is None:
        _LIST_DIR = tempfile.TemporaryDirectory(prefix="dali-saliencymix-lists-")
    fd, name = tempfile.mkstemp(suffix=".txt", dir=_LIST_DIR.name)
    with os.fdopen(fd, "w") as f:
        for path, label in zip(source.files, source.labels, strict=True):
            f.write(f"{os.path.abspath(path)} {label}\n")
    _PENDING_LISTS.append(Path(name))
    return Path(name)


def _build(pipe: Pipeline) -> Pipeline:
    """Build (DALI reads the file lists now), then delete the lists."""
    try:
        pipe.build()
    finally:
        while _PENDING_LISTS:
            _PENDING_LISTS.pop().unlink(missing_ok=True)
    return pipe
