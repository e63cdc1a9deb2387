#!/usr/bin/env python3
"""ImageNet training with DALI and SaliencyMix, ready for torchrun (DDP, one pipeline per rank).

    torchrun --nproc_per_node=8 pipelines/train_imagenet.py /data/imagenet/train \\
        --val-dir /data/imagenet/val --epochs 90 --batch-size 256 --lr 0.1 --amp --cutmix 1.0

    python pipelines/train_imagenet.py DATA_DIR --epochs 2 --batch-size 8 --arch tiny --cpu \\
        --cutmix 1.0

The mixing flags are timm's (``--mixup 0.8 --cutmix 1.0 --mixup-switch-prob 0.5 --smoothing
0.1`` is the DeiT recipe), with timm's defaults: no mixing unless ``--mixup`` or ``--cutmix``
is given. ``--cutmix-box saliency`` (the default) centres CutMix boxes on the source's saliency
peak (SaliencyMix); ``--cutmix-box random`` is timm's CutMix.

Each rank reads its own shard (shard_id = rank) with its own seed (seed + rank); the last
batch of each shard is kept partial (DALI's PARTIAL policy), so over one epoch the ranks together
read every file exactly once. Checkpoints (``--save``) hold the model, optimiser, schedule,
options, the class names and every rank's DALI pipeline checkpoint; ``--resume`` continues from
them. The class map is the training folder's (``dali_saliencymix.dataset``); the validation
folder is read with it. Damaged files: run ``dali-saliencymix check DATA_DIR`` first and train
with ``--skip-bad`` (or ``--file-list`` the clean list it wrote); a file that still fails
mid-epoch stops the run with its name.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F  # noqa: N812
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from torch import nn

from dali_saliencymix.check import DataError
from dali_saliencymix.dataset import DatasetError, excluded_by_check, load_dataset
from dali_saliencymix.iterator import SaliencyMixIterator
from dali_saliencymix.pipeline import MixConfig, train_pipeline, val_pipeline


class TinyNet(nn.Module):
    """A small convolutional classifier for smoke runs and tests."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            )

        self.features = nn.Sequential(block(3, 16), block(16, 32), block(32, 64), block(64, 64))
        self.head = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


def build_model(arch: str, num_classes: int) -> nn.Module:
    """`tiny`, or a torchvision model by name (resnet50 by default)."""
    if arch == "tiny":
        return TinyNet(num_classes)
    try:
        import torchvision
    except ImportError as err:
        raise SystemExit(
            f"--arch {arch} needs torchvision (pip install torchvision); --arch tiny needs nothing"
        ) from err
    return torchvision.models.get_model(arch, weights=None, num_classes=num_classes)


def soft_target_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy with soft targets (probabilities per class)."""
    return F.cross_entropy(logits, targets)


def lr_at(step: int, total: int, warmup: int, base_lr: float) -> float:
    """Linear warm-up then cosine decay to 0."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * base_lr * (1 + math.cos(math.pi * min(1.0, progress)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir", help="training folder of class sub-folders")
    p.add_argument(
        "--val-dir",
        default=None,
        help="validation folder of class sub-folders (read with the training class map)",
    )
    p.add_argument(
        "--file-list",
        default=None,
        help="train on the files of this list ('path label' lines, paths relative to "
        "DATA_DIR), e.g. the files.txt that `dali-saliencymix check` writes",
    )
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out the files that `dali-saliencymix check DATA_DIR` (and VAL_DIR) listed "
        "as unreadable (its default output, DIR/.dali-saliencymix-check/excluded.txt)",
    )
    p.add_argument("--arch", default="resnet50", help="'tiny' or a torchvision model name")
    p.add_argument("--epochs", type=int, default=90)
    p.add_argument("--batch-size", type=int, default=256, help="per rank")
    p.add_argument("--lr", type=float, default=None, help="default: 0.1 x batch x world / 256")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup-epochs", type=float, default=5.0)
    p.add_argument("--workers", type=int, default=4, help="DALI CPU threads per rank")
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--seed", type=int, default=0, help="rank r uses seed + r")
    p.add_argument("--cpu", action="store_true", help="CPU only (DALI on the CPU, gloo)")
    p.add_argument("--amp", action="store_true", help="bf16 autocast (GPU)")
    p.add_argument("--no-channels-last", action="store_true")
    # Mixing: timm's train.py flags and defaults (no mixing unless --mixup or --cutmix is
    # given), plus --cutmix-box (saliency: SaliencyMix) and --mixup-pairing.
    MixConfig.add_arguments(p, training=True)
    p.add_argument(
        "--save",
        default=None,
        help="checkpoint file written after every epoch ('{epoch}' in the name "
        "keeps one file per epoch)",
    )
    p.add_argument("--resume", default=None, help="checkpoint file to continue from")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no epoch lines")
    return p.parse_args(argv)


def setup_distributed(cpu: bool) -> tuple[int, int, int]:
    """(rank, world size, local rank); sets the GPU, then joins the process group (torchrun)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not cpu:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA GPU visible: use --cpu for a CPU run")
        torch.cuda.set_device(local)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo" if cpu else "nccl")
    return rank, world, local


def all_sum(values: list[float], device: torch.device, world: int) -> list[float]:
    """Element-wise sum over the ranks."""
    if world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def main(argv: list[str] | None = None) -> dict:
    """Train; returns a summary (per-epoch mean loss, images/s) for tests and scripts.

    A file that DALI cannot read or decode stops the run with a message naming it.
    """
    try:
        return train(parse_args(argv))
    except DataError as err:
        raise SystemExit(f"train_imagenet (rank {os.environ.get('RANK', '0')}): {err}") from None


def train(args: argparse.Namespace) -> dict:
    """The training run of ``main``."""
    rank, world, local = setup_distributed(args.cpu)
    device = torch.device("cpu" if args.cpu else f"cuda:{local}")
    torch.manual_seed(args.seed + rank)

    try:
        folder = load_dataset(
            args.data_dir,
            args.file_list,
            num_classes=args.num_classes,
            exclude=excluded_by_check(args.data_dir) if args.skip_bad else (),
        )
        val_folder = None
        if args.val_dir:
            val_folder = load_dataset(
                args.val_dir,
                classes=folder.classes,
                exclude=excluded_by_check(args.val_dir) if args.skip_bad else (),
            )
    except DatasetError as err:
        raise SystemExit(f"train_imagenet: {err}") from None
    num_classes = args.num_classes or folder.num_classes
    state = torch.load(args.resume, map_location="cpu", weights_only=False) if args.resume else None
    if state and state.get("classes") not in (None, folder.classes):
        raise SystemExit(
            f"--resume {args.resume}: saved with {len(state['classes'])} classes "
            f"({state['classes'][:3]}...), but {args.data_dir} has {folder.num_classes} "
            f"({folder.classes[:3]}...): resume on the same classes"
        )
    if state and (
        len(state["dali_checkpoints"]) != world or state["args"]["batch_size"] != args.batch_size
    ):
        raise SystemExit(
            f"--resume {args.resume}: saved with {len(state['dali_checkpoints'])} "
            f"ranks and batch size {state['args']['batch_size']}; resume with the "
            f"same (now {world} ranks, batch size {args.batch_size})"
        )
    try:
        mix = MixConfig.from_args(args, num_classes)
    except ValueError as err:
        raise SystemExit(f"train_imagenet: {err}") from None
    pipe = train_pipeline(
        folder,
        batch_size=args.batch_size,
        num_threads=args.workers,
        device_id=None if args.cpu else local,
        shard_id=rank,
        num_shards=world,
        seed=args.seed + rank,
        crop=args.crop,
        mix=mix,
        channels_last=False,
        enable_checkpointing=True,
        checkpoint=state["dali_checkpoints"][rank] if state else None,
    )
    loader = SaliencyMixIterator(pipe, start_epoch=state["epoch"] if state else 0)
    val_loader = None
    if val_folder is not None:
        val_loader = SaliencyMixIterator(
            val_pipeline(
                val_folder,
                batch_size=args.batch_size,
                num_threads=args.workers,
                device_id=None if args.cpu else local,
                shard_id=rank,
                num_shards=world,
                crop=args.crop,
            )
        )

    model = build_model(args.arch, num_classes).to(device)
    channels_last = not args.cpu and not args.no_channels_last
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=None if args.cpu else [local])
    lr = args.lr if args.lr is not None else 0.1 * args.batch_size * world / 256
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=args.momentum, weight_decay=args.weight_decay
    )
    start_epoch = 0
    if state:
        (model.module if world > 1 else model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch = state["epoch"]
    steps_per_epoch = len(loader)
    total_steps = args.epochs * steps_per_epoch
    warmup_steps = int(args.warmup_epochs * steps_per_epoch)
    show = rank == 0 and not args.quiet
    history: dict = {"loss": [], "images_per_second": [], "val_top1": []}
    progress = _progress(show)
    step_args = (model, optimizer, device, channels_last, args)
    with progress:
        for epoch in range(start_epoch, args.epochs):
            model.train()
            total_loss, seen, start = 0.0, 0, time.perf_counter()
            task = progress.add_task(f"epoch {epoch}", total=steps_per_epoch, stats="")
            for step, (images, targets) in enumerate(loader):
                global_step = epoch * steps_per_epoch + step
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(global_step, total_steps, warmup_steps, lr)
                batch_loss = train_step(images, targets, *step_args)
                total_loss += batch_loss * len(images)
                seen += len(images)
                progress.update(
                    task,
                    advance=1,
                    stats=f"loss {batch_loss:.3f}  lr {optimizer.param_groups[0]['lr']:.4f}  "
                    f"{seen * world / (time.perf_counter() - start):.0f} img/s",
                )
            seconds = time.perf_counter() - start
            total_loss, seen_all = all_sum([total_loss, float(seen)], device, world)
            history["loss"].append(total_loss / max(seen_all, 1))
            history["images_per_second"].append(seen_all / seconds)
            if val_loader is not None:
                correct, total = evaluate(model, val_loader, device, channels_last, num_classes)
                correct, total = all_sum([correct, total], device, world)
                history["val_top1"].append(correct / max(total, 1))
            if show:
                val = f", val top-1 {history['val_top1'][-1]:.3f}" if val_loader else ""
                progress.console.print(
                    f"epoch {epoch}: loss {history['loss'][-1]:.4f}, "
                    f"{history['images_per_second'][-1]:.0f} images/s{val}",
                    markup=False,
                    highlight=False,
                )
            if args.save:
                save_checkpoint(args, model, optimizer, loader, epoch + 1, world, rank)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return history


def train_step(
    images: torch.Tensor,
    targets: torch.Tensor,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    channels_last: bool,
    args: argparse.Namespace,
) -> float:
    """One forward, backward and optimiser step; returns the batch loss."""
    images = images.to(device, non_blocking=True)
    targets = targets.to(device, non_blocking=True)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    if len(images) == 0:
        # A shard's last PARTIAL batch can be empty when shard sizes differ: every rank
        # must still run a forward and backward (DDP's gradient all-reduce) and the
        # optimiser step. A zero image in eval mode (BatchNorm statistics untouched),
        # weighted 0, contributes nothing.
        model.eval()
        dummy = torch.zeros((1, 3, args.crop, args.crop), device=device)
        if channels_last:
            dummy = dummy.contiguous(memory_format=torch.channels_last)
        loss = model(dummy).sum() * 0.0
        model.train()
    else:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp):
            loss = soft_target_loss(model(images), targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def _progress(show: bool) -> Progress:
    """The progress bar of rank 0 (rich): batches, loss, learning rate, images/s, ETA."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(),
        disable=not show,
    )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: SaliencyMixIterator,
    device: torch.device,
    channels_last: bool,
    num_classes: int,
) -> tuple[float, float]:
    """(correct, total) top-1 counts over the validation shard of this rank.

    A class id outside [0, num_classes) (e.g. a malformed label in a foreign shard, read as -1)
    stops the run instead of counting as a wrong prediction.
    """
    model.eval()
    correct = total = 0
    for images, labels in loader:
        bad = (labels < 0) | (labels >= num_classes)
        if bool(bad.any()):
            raise SystemExit(
                f"train_imagenet: the validation data has class id {int(labels[bad][0])}, "
                f"expected 0 <= id < {num_classes} (a label that is not a class of the training "
                "map; shards written by other tools read a malformed label as -1)"
            )
        images = images.to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        if len(images):
            correct += int((model(images).argmax(1) == labels.to(device).long()).sum())
        total += len(labels)
    return float(correct), float(total)


def save_checkpoint(
    args: argparse.Namespace,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: SaliencyMixIterator,
    epoch: int,
    world: int,
    rank: int,
) -> None:
    """Model, optimiser, epoch, options, class names and every rank's DALI checkpoint (rank 0)."""
    dali_checkpoint = loader.checkpoints()[0]
    checkpoints = [None] * world
    if world > 1:
        dist.all_gather_object(checkpoints, dali_checkpoint)
    else:
        checkpoints = [dali_checkpoint]
    if rank == 0:
        state = {
            "model": (model.module if world > 1 else model).state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "args": vars(args),
            "classes": loader.classes,
            "dali_checkpoints": checkpoints,
        }
        torch.save(state, args.save.replace("{epoch}", str(epoch)))


if __name__ == "__main__":
    main()
