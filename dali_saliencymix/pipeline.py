"""Pipeline factories modelled on DALI's ResNet-50 example, with SaliencyMix built in.

Training: file reader (folder of class sub-folders, or a file list) with sharding and shuffling ->
decode with random crop (GPU ``"mixed"`` or CPU) -> resize -> SaliencyMix -> flip + normalise.
Validation: reader -> decode -> resize shorter side -> centre crop + normalise, hard labels.
``device_id=None`` builds an all-CPU pipeline that runs without a GPU.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from nvidia.dali import fn, pipeline_def, types
from nvidia.dali.pipeline import Pipeline

from dali_saliencymix.mix import saliency_mix
from dali_saliencymix.mix_options import MixConfig

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

    def __call__(self, info: object) -> list[np.ndarray]:
        """Per-sample flags of one batch (DALI calls this with a BatchInfo)."""
        flag = np.array(1 if self.enabled(int(info.iteration)) else 0, dtype=np.int32)
        return [flag] * self.batch_size


def iterations_per_epoch(pipe: Pipeline, reader_name: str = READER) -> int:
    """Pipeline iterations per epoch of a reader with ``pad_last_batch=True``."""
    meta = pipe.reader_meta(reader_name)
    per_shard = meta["epoch_size_padded"] // meta["number_of_shards"]
    return max(1, math.ceil(per_shard / pipe.max_batch_size))


def _reader(
    data_dir: str | Path | None,
    file_list: str | Path | None,
    shard_id: int,
    num_shards: int,
    shuffle: bool,
    seed: int | None,
) -> tuple:
    if data_dir is None and file_list is None:
        raise ValueError(
            "give data_dir (a folder of class sub-folders) or file_list (lines of "
            "'path label', paths relative to data_dir when given)"
        )
    kwargs = {
        "shard_id": shard_id,
        "num_shards": num_shards,
        "random_shuffle": shuffle,
        "pad_last_batch": True,
        "name": READER,
    }
    if seed is not None:
        kwargs["seed"] = seed
    if file_list is not None:
        kwargs["file_list"] = str(file_list)
        if data_dir is not None:
            kwargs["file_root"] = str(data_dir)
    else:
        kwargs["file_root"] = str(data_dir)
    return fn.readers.file(**kwargs)


def train_pipeline(
    data_dir: str | Path | None = None,
    *,
    file_list: str | Path | None = None,
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
) -> Pipeline:
    """Training pipeline: outputs ``data`` (float, CHW or HWC) and ``label`` (float32 [C]).

    Args:
        data_dir: folder of class sub-folders (or the root of ``file_list`` paths).
        file_list: text file of ``path label`` lines (DALI's file-list format).
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
        enable_checkpointing: allow ``pipe.checkpoint()``.
        checkpoint: restore from a checkpoint made by ``pipe.checkpoint()``.
        prefetch_queue_depth: DALI's prefetch depth.

    Returns:
        The built pipeline. When mixing, its ``mix_switch`` attribute holds the mix-off rule.

    """
    if mix is not None:
        mix.check()  # a config changed after it was made
    gpu = device_id is not None
    decode_device = decode_device or ("mixed" if gpu else "cpu")
    if decode_device == "mixed" and not gpu:
        raise ValueError("train_pipeline: decode_device='mixed' needs a GPU (device_id)")
    mixing = mix is not None and mix.enabled
    switch = MixSwitch(batch_size, mix.mix_off_epoch if mixing else None)

    @pipeline_def(
        batch_size=batch_size,
        num_threads=num_threads,
        device_id=device_id,
        seed=seed,
        enable_checkpointing=enable_checkpointing or checkpoint is not None,
        prefetch_queue_depth=prefetch_queue_depth,
    )
    def pipe():  # noqa: ANN202
        jpegs, labels = _reader(data_dir, file_list, shard_id, num_shards, True, seed)
        images = fn.decoders.image_random_crop(
            jpegs,
            device=decode_device,
            output_type=types.RGB,
            random_area=list(random_area),
            random_aspect_ratio=[0.75, 4.0 / 3.0],
            num_attempts=100,
        )
        if gpu:
            images = images.gpu()  # CPU decoding: resize, mix and normalise on the GPU
        images = fn.resize(images, resize_x=crop, resize_y=crop)
        if mixing:
            enabled = fn.external_source(source=switch, batch=True, batch_info=True)
            images, labels = saliency_mix(images, labels, **mix.op_kwargs(), enabled=enabled)
        elif mix is not None:
            labels = fn.one_hot(fn.reshape(labels, shape=[]), num_classes=mix.num_classes)
        else:
            labels = fn.reshape(labels, shape=[])
        images = fn.crop_mirror_normalize(
            images,
            dtype=types.FLOAT,
            output_layout="HWC" if channels_last else "CHW",
            mirror=fn.random.coin_flip(probability=0.5),
            mean=list(IMAGENET_MEAN),
            std=list(IMAGENET_STD),
        )
        return images, (labels.gpu() if gpu else labels)

    p = pipe(checkpoint=checkpoint) if checkpoint is not None else pipe()
    p.build()
    if mixing:
        switch.iterations_per_epoch = iterations_per_epoch(p)
        p.mix_switch = switch
    return p


def val_pipeline(
    data_dir: str | Path | None = None,
    *,
    file_list: str | Path | None = None,
    batch_size: int = 64,
    num_threads: int = 4,
    device_id: int | None = 0,
    shard_id: int = 0,
    num_shards: int = 1,
    crop: int = 224,
    resize: int = 256,
    channels_last: bool = False,
    decode_device: str | None = None,
) -> Pipeline:
    """Validation pipeline: resize the shorter side, centre crop, normalise; int labels."""
    gpu = device_id is not None
    decode_device = decode_device or ("mixed" if gpu else "cpu")
    if decode_device == "mixed" and not gpu:
        raise ValueError("val_pipeline: decode_device='mixed' needs a GPU (device_id)")

    @pipeline_def(batch_size=batch_size, num_threads=num_threads, device_id=device_id, seed=0)
    def pipe():  # noqa: ANN202
        jpegs, labels = _reader(data_dir, file_list, shard_id, num_shards, False, None)
        images = fn.decoders.image(jpegs, device=decode_device, output_type=types.RGB)
        if gpu:
            images = images.gpu()
        images = fn.resize(images, resize_shorter=resize)
        images = fn.crop_mirror_normalize(
            images,
            dtype=types.FLOAT,
            output_layout="HWC" if channels_last else "CHW",
            crop=(crop, crop),
            mean=list(IMAGENET_MEAN),
            std=list(IMAGENET_STD),
        )
        labels = fn.reshape(labels, shape=[])
        return images, (labels.gpu() if gpu else labels)

    p = pipe()
    p.build()
    return p
