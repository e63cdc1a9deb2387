#!/usr/bin/env python3
"""The training pipeline of DALI's ResNet-50 example with SaliencyMix added (see the .md page).

python pipelines/resnet50_dropin.py [DATA_DIR] --dali_cpu --batches 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nvidia.dali import fn, types
from nvidia.dali.pipeline import pipeline_def
from nvidia.dali.plugin.pytorch import DALIClassificationIterator, LastBatchPolicy

import dali_saliencymix

PHOTOS = Path(dali_saliencymix.__file__).resolve().parent / "data" / "photos"


@pipeline_def
def create_dali_pipeline(  # noqa: ANN201
    data_dir: str,
    crop: int,
    size: int,
    shard_id: int,
    num_shards: int,
    dali_cpu: bool = False,
    is_training: bool = True,
    num_classes: int = 1000,
):
    """The example's pipeline; the SaliencyMix line is the one addition to its training branch."""
    images, labels = fn.readers.file(
        file_root=data_dir,
        shard_id=shard_id,
        num_shards=num_shards,
        random_shuffle=is_training,
        pad_last_batch=True,
        name="Reader",
    )
    dali_device = "cpu" if dali_cpu else "gpu"
    decoder_device = "cpu" if dali_cpu else "mixed"
    if is_training:
        images = fn.decoders.image_random_crop(
            images,
            device=decoder_device,
            output_type=types.RGB,
            random_aspect_ratio=[0.8, 1.25],
            random_area=[0.1, 1.0],
            num_attempts=100,
        )
        images = fn.resize(
            images,
            device=dali_device,
            resize_x=crop,
            resize_y=crop,
            interp_type=types.INTERP_TRIANGULAR,
        )
        images, labels = dali_saliencymix.saliency_mix(images, labels, num_classes=num_classes)
        mirror = fn.random.coin_flip(probability=0.5)
    else:
        images = fn.decoders.image(images, device=decoder_device, output_type=types.RGB)
        images = fn.resize(
            images,
            device=dali_device,
            size=size,
            mode="not_smaller",
            interp_type=types.INTERP_TRIANGULAR,
        )
        mirror = False
    images = fn.crop_mirror_normalize(
        images if dali_cpu else images.gpu(),
        dtype=types.FLOAT,
        output_layout="CHW",
        crop=(crop, crop),
        mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
        std=[0.229 * 255, 0.224 * 255, 0.225 * 255],
        mirror=mirror,
    )
    return images, (labels if dali_cpu else labels.gpu())


def main(argv: list[str] | None = None) -> list[tuple]:
    """Build the training pipeline and print (and return) the shapes of a few batches."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(PHOTOS))
    parser.add_argument("--dali_cpu", action="store_true")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--num-classes", type=int, default=4)
    args = parser.parse_args(argv)
    pipe = create_dali_pipeline(
        batch_size=args.batch_size,
        num_threads=2,
        device_id=None if args.dali_cpu else 0,
        seed=12,
        data_dir=args.data,
        crop=224,
        size=256,
        dali_cpu=args.dali_cpu,
        shard_id=0,
        num_shards=1,
        is_training=True,
        num_classes=args.num_classes,
    )
    pipe.build()
    loader = DALIClassificationIterator(
        pipe, reader_name="Reader", last_batch_policy=LastBatchPolicy.PARTIAL
    )
    shapes = []
    for i, data in enumerate(loader):
        images, target = data[0]["data"], data[0]["label"]  # soft targets [B, num_classes]
        shapes.append((tuple(images.shape), tuple(target.shape), target.sum(1).tolist()))
        print(
            f"batch {i}: images {tuple(images.shape)} {images.dtype}, "
            f"soft targets {tuple(target.shape)}"
        )
        if i + 1 >= args.batches:
            break
    return shapes


if __name__ == "__main__":
    main()
