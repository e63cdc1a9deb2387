"""Pipeline factories: read -> decode -> mix and labels -> normalise, for training and validation.

Modelled on DALI's ResNet-50 example, with the mixing family built in:

- training: :func:`~.read.read_files` (shuffled) -> :func:`~.decode.decode` with a random crop
  window -> :func:`~.decode.resize` to the crop -> :func:`~.mix.mix_labels` ->
  :func:`~.normalise.normalise` with a flip;
- validation: read_files -> decode -> resize the shorter side -> normalise with a centre crop.

Both take the model's data config: ``crop`` (an int or (height, width)), ``mean`` and ``std``
(fractions of 255, as timm's) and ``interpolation`` (``types.INTERP_*`` or timm's names);
``**timm_data_config(resolve_data_config(model=model))`` passes timm's
(:mod:`~.data_config`).

``device_id=None`` builds an all-CPU pipeline that runs without a GPU. The factories return a
:class:`DataPipeline`: the built DALI pipeline, the dataset it reads and its mix-off switch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nvidia.dali import fn, pipeline_def, types
from nvidia.dali.pipeline import Pipeline

from dali_saliencymix.data.decode_check import DataError
from dali_saliencymix.data.folder import ImageFolder
from dali_saliencymix.data.load import load_dataset
from dali_saliencymix.data.shard_failures import explain_error, named_error
from dali_saliencymix.data.shards import ShardSet
from dali_saliencymix.normalisation import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from dali_saliencymix.options import MixConfig
from dali_saliencymix.pipeline.data_config import interpolation_type, mean_std_255, size_hw
from dali_saliencymix.pipeline.decode import decode
from dali_saliencymix.pipeline.decode import resize as resize_images
from dali_saliencymix.pipeline.mix import MixSwitch, mix_labels
from dali_saliencymix.pipeline.normalise import normalise
from dali_saliencymix.pipeline.read import build_and_drop_lists, read_files


@dataclass
class DataPipeline:
    """A built DALI pipeline, the dataset it reads, and (when mixing) its mix-off switch.

    ``SaliencyMixIterator`` takes it as it is. ``run()`` runs one iteration like
    ``pipeline.run()``, but a file that DALI cannot read or decode raises
    :class:`~dali_saliencymix.data.decode_check.DataError` naming the file.
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
        """A DataError naming the file (or shard sample) behind a DALI error, or None."""
        message = explain_error(err, [self.dataset])
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


# File lists handed to fn.readers.file: DALI reads them when the pipeline is built; the
# factories delete them then, other users' lists go with the folder at exit.
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
    crop: int | tuple[int, int] = 224,
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    std: Sequence[float] = IMAGENET_DEFAULT_STD,
    interpolation: str | types.DALIInterpType = "bilinear",
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
            (``dali_saliencymix.data.load_dataset``).
        file_list: text file of ``path label`` lines (DALI's format, e.g. the ``files.txt``
            that ``dali-saliencymix check`` writes).
        exclude: files to leave out (e.g. ``data.excluded_by_check(data_dir)``).
        batch_size: samples per batch and shard.
        num_threads: CPU threads of the pipeline.
        device_id: GPU to use, or None for an all-CPU pipeline (no GPU needed).
        shard_id: this process's shard (its rank).
        num_shards: number of shards (the world size).
        seed: pipeline seed; give each rank its own (e.g. ``seed + rank``).
        crop: output size: an int (square) or (height, width).
        mean: the model's mean, fractions of 255 (timm's units; ImageNet's by default).
        std: the model's std, fractions of 255.
        interpolation: of the resize: ``types.INTERP_*`` or a timm name (``"bilinear"``,
            ``"bicubic"``, ``"nearest"``, ``"lanczos"``; DALI's ``"triangular"``).
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
    size = size_hw(crop, "train_pipeline: crop")
    mean_std_255(mean, std, "train_pipeline")  # checked here, used by normalise
    interp = interpolation_type(interpolation, "train_pipeline")
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
        images = resize_images(images, size=size, interpolation=interp)
        images, labels = mix_labels(images, labels, mix, switch)
        mirror = fn.random.coin_flip(probability=0.5)
        images = normalise(images, channels_last=channels_last, mirror=mirror, mean=mean, std=std)
        return images, (labels.gpu() if gpu else labels)

    p = _build(pipe(checkpoint=checkpoint) if checkpoint is not None else pipe(), dataset)
    if switch is not None:
        switch.attach(p)
    return DataPipeline(p, dataset, shard_id, num_shards, switch)


def val_pipeline(
    data_dir: str | Path | ImageFolder | ShardSet | None = None,
    *,
    file_list: str | Path | None = None,
    classes: list[str] | None = None,
    num_classes: int | None = None,
    exclude: Iterable[str | Path] = (),
    batch_size: int = 64,
    num_threads: int = 4,
    device_id: int | None = 0,
    shard_id: int = 0,
    num_shards: int = 1,
    crop: int | tuple[int, int] = 224,
    resize: int | tuple[int, int] = 256,
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    std: Sequence[float] = IMAGENET_DEFAULT_STD,
    interpolation: str | types.DALIInterpType = "bilinear",
    channels_last: bool = False,
    decode_device: str | None = None,
) -> DataPipeline:
    """Validation pipeline: resize, centre crop, normalise; int labels.

    `classes`: the training class map (``train.classes``); validation class folders get their
    training ids, and a folder that training lacks is an error. `num_classes`: the class count
    of shards without a class map (other tools' shards), when `classes` is not known. `resize`:
    an int is the shorter side; (height, width) the smallest size covering both, keeping the
    aspect ratio. `crop`, `mean`, `std`, `interpolation`: as :func:`train_pipeline`.
    """
    size = size_hw(crop, "val_pipeline: crop")
    sides = size_hw(resize, "val_pipeline: resize")
    at_least = sides[0] if isinstance(resize, int) else sides
    mean_std_255(mean, std, "val_pipeline")
    interp = interpolation_type(interpolation, "val_pipeline")
    dataset = load_dataset(
        data_dir, file_list, num_classes=num_classes, classes=classes, exclude=exclude
    )
    gpu, decode_device = _devices("val_pipeline", device_id, decode_device)

    @pipeline_def(batch_size=batch_size, num_threads=num_threads, device_id=device_id, seed=0)
    def pipe():  # noqa: ANN202
        encoded, labels = read_files(dataset, shard_id=shard_id, num_shards=num_shards)
        images = decode(encoded, device=decode_device, to_gpu=gpu)
        images = resize_images(images, at_least=at_least, interpolation=interp)
        images, labels = mix_labels(images, labels, None)
        images = normalise(images, channels_last=channels_last, crop=size, mean=mean, std=std)
        return images, (labels.gpu() if gpu else labels)

    return DataPipeline(_build(pipe(), dataset), dataset, shard_id, num_shards)


def _build(pipe: Pipeline, dataset: ImageFolder | ShardSet) -> Pipeline:
    """Build the pipeline; a DALI error about the data becomes a DataError naming it.

    (E.g. a shard sample without its label, found while DALI indexes the tars.)
    """
    try:
        return build_and_drop_lists(pipe)
    except RuntimeError as err:
        raise named_error(err, [dataset]) from err


def _devices(who: str, device_id: int | None, decode_device: str | None) -> tuple[bool, str]:
    gpu = device_id is not None
    decode_device = decode_device or ("mixed" if gpu else "cpu")
    if decode_device == "mixed" and not gpu:
        raise ValueError(f"{who}: decode_device='mixed' needs a GPU (device_id)")
    return gpu, decode_device
