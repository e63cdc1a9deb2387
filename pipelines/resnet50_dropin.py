#!/usr/bin/env python3
"""DALI's ResNet-50 example with SaliencyMix, as resnet50_dropin.md changes it: a few batches.

python pipelines/resnet50_dropin.py [DATA_DIR] --dali_cpu --batches 2

The pipeline functions follow the example's ``image_processing_func``, ``create_dali_pipeline``
and ``create_dali_proxy_pipeline`` with the page's changed lines (marked ``# changed``); the
training step runs the page's lines after the loader (soft targets into ``nn.CrossEntropyLoss``,
accuracy on their argmax) and the validation step the example's own (class ids). One difference
from the example, so that this runs without a GPU: with ``--dali_cpu`` the normalisation stays
on the CPU too (the example moves it to the GPU in either case).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from nvidia.dali import fn, types
from nvidia.dali.pipeline import pipeline_def
from nvidia.dali.plugin.pytorch import DALIClassificationIterator, LastBatchPolicy

import dali_saliencymix  # changed

PHOTOS = Path(dali_saliencymix.__file__).resolve().parent / "data" / "photos"


# fmt: off
def image_processing_func(  # noqa: ANN201
    images, crop, size, is_training=True, decoder_device="mixed", labels=None  # noqa: ANN001 # changed
):
    """Decode, resize, mix (training, when given labels), normalise: (images, labels)."""
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
            images, resize_x=crop, resize_y=crop, interp_type=types.INTERP_TRIANGULAR
        )
        if labels is not None:  # changed
            images, labels = dali_saliencymix.saliency_mix(images, labels, num_classes=1000)
        mirror = fn.random.coin_flip(probability=0.5)
    else:
        images = fn.decoders.image(images, device=decoder_device, output_type=types.RGB)
        images = fn.resize(
            images, size=size, mode="not_smaller", interp_type=types.INTERP_TRIANGULAR
        )
        mirror = False
    images = fn.crop_mirror_normalize(
        images if decoder_device == "cpu" else images.gpu(),  # the example: images.gpu()
        dtype=types.FLOAT,
        output_layout="CHW",
        crop=(crop, crop),
        mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
        std=[0.229 * 255, 0.224 * 255, 0.225 * 255],
        mirror=mirror,
    )
    return images, labels  # changed
# fmt: on


@pipeline_def(exec_dynamic=True)
def create_dali_pipeline(  # noqa: ANN201
    data_dir: str,
    crop: int,
    size: int,
    shard_id: int,
    num_shards: int,
    dali_cpu: bool = False,
    is_training: bool = True,
):
    """The example's pipeline: the reader's labels now go through image_processing_func."""
    images, labels = fn.readers.file(
        file_root=data_dir,
        shard_id=shard_id,
        num_shards=num_shards,
        random_shuffle=is_training,
        pad_last_batch=True,
        name="Reader",
    )
    decoder_device = "cpu" if dali_cpu else "mixed"
    # changed: the labels go in, and come back mixed
    images, labels = image_processing_func(images, crop, size, is_training, decoder_device, labels)
    return images, (labels if dali_cpu else labels.gpu())


@pipeline_def(exec_dynamic=True)
def create_dali_proxy_pipeline(crop: int, size: int, dali_cpu: bool = False, is_training: bool = True):  # noqa: ANN201, E501 # fmt: skip
    """The example's proxy pipeline (file paths in, images out): no labels, so no mixing."""
    filepaths = fn.external_source(name="images", no_copy=True)
    images = fn.io.file.read(filepaths)
    decoder_device = "cpu" if dali_cpu else "mixed"
    images, _ = image_processing_func(images, crop, size, is_training, decoder_device)  # changed
    return images


def proxy_batch(paths: list[Path], dali_cpu: bool) -> tuple:
    """One batch of the proxy pipeline, fed the file paths as the example's DALIServer does."""
    pipe = create_dali_proxy_pipeline(
        batch_size=len(paths),
        num_threads=2,
        device_id=None if dali_cpu else 0,
        seed=12,
        crop=224,
        size=256,
        dali_cpu=dali_cpu,
        is_training=True,
    )
    pipe.build()
    pipe.feed_input("images", [np.frombuffer(str(p).encode(), dtype=np.int8) for p in paths])
    (images,) = pipe.run()
    return tuple(images.as_tensor().shape())


def accuracy(output: torch.Tensor, target: torch.Tensor, topk: tuple[int, ...] = (1,)) -> list:
    """Top-k precision in percent for class ids `target` (as the example's ``accuracy``)."""
    pred = output.topk(max(topk), 1, True, True).indices.t()
    correct = pred.eq(target.view(1, -1).expand_as(pred))
    return [correct[:k].reshape(-1).float().sum(0) * (100.0 / target.size(0)) for k in topk]


def train_steps(loader: DALIClassificationIterator, model, criterion, batches: int) -> list:  # noqa: ANN001
    """The example's train() body after the loader, with the page's two changed lines."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    seen = []
    for i, data in enumerate(loader):
        input = data[0]["data"]
        target = data[0]["label"]  # changed: soft targets [B, 1000], rows sum to 1
        output = model(input)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        prec1, prec5 = accuracy(output.data, target.argmax(1) if target.dim() == 2 else target, topk=(1, 5))  # changed  # noqa: E501 # fmt: skip
        seen.append(
            (tuple(input.shape), tuple(target.shape), target.sum(1).tolist(), loss.item(),
             prec1.item(), prec5.item())
        )  # fmt: skip
        print(
            f"train batch {i}: images {tuple(input.shape)}, soft targets {tuple(target.shape)}, "
            f"loss {loss.item():.3f}, prec@1 {prec1.item():.1f}"
        )
        if i + 1 >= batches:
            break
    return seen


def validate_steps(loader: DALIClassificationIterator, model, criterion) -> list:  # noqa: ANN001
    """The example's validate() body, unchanged: the validation loader gives class ids."""
    seen = []
    with torch.no_grad():
        for data in loader:
            input = data[0]["data"]
            target = data[0]["label"].squeeze(-1).long()
            output = model(input)
            loss = criterion(output, target)
            prec1, prec5 = accuracy(output.data, target, topk=(1, 5))
            seen.append((tuple(target.shape), loss.item(), prec1.item(), prec5.item()))
    print(f"validation: {len(seen)} batches of class ids")
    return seen


def main(argv: list[str] | None = None) -> dict[str, list]:
    """Build the pipelines, train a tiny model a few batches, validate once, run the proxy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", nargs="?", default=str(PHOTOS), help="class folder (default: the shipped photos)"
    )
    parser.add_argument(
        "--dali_cpu", action="store_true", help="DALI on the CPU (needed without a GPU)"
    )
    parser.add_argument("--batch-size", type=int, default=4, help="(default: %(default)s)")
    parser.add_argument(
        "--batches", type=int, default=2, help="training batches run (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    loaders = {}
    for is_training in (True, False):
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
            is_training=is_training,
        )
        pipe.build()
        loaders[is_training] = DALIClassificationIterator(
            pipe, reader_name="Reader", last_batch_policy=LastBatchPolicy.PARTIAL, auto_reset=True
        )
    model = torch.nn.Sequential(  # a stand-in for the ResNet-50: 1000 classes
        torch.nn.Conv2d(3, 8, 7, stride=8), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(8, 1000),
    )  # fmt: skip
    if not args.dali_cpu:
        model = model.cuda()
    criterion = torch.nn.CrossEntropyLoss()  # unchanged: takes soft targets and class ids
    proxy = proxy_batch(sorted(Path(args.data).glob("*/*.jpg"))[:2], args.dali_cpu)
    print(f"proxy pipeline (no labels, no mixing): images {proxy}")
    return {
        "train": train_steps(loaders[True], model, criterion, args.batches),
        "val": validate_steps(loaders[False], model.eval(), criterion),
        "proxy": [proxy],
    }


if __name__ == "__main__":
    main()
