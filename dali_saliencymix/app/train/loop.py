"""The training run: data and pipelines per rank, the model, the epochs, evaluation, checkpoints."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time
from dataclasses import dataclass

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

from dali_saliencymix.app.flags import mix_config_from_args
from dali_saliencymix.app.train import feature
from dali_saliencymix.app.train.checkpoint import (
    data_fingerprint,
    load_checkpoint,
    restore,
    save_checkpoint,
    save_lock,
)
from dali_saliencymix.app.train.models import build_model
from dali_saliencymix.data.check_lists import excluded_by_check
from dali_saliencymix.data.folder import ImageFolder
from dali_saliencymix.data.load import load_dataset
from dali_saliencymix.data.shard_failures import bad_labels
from dali_saliencymix.data.shards import ShardSet
from dali_saliencymix.options import MixConfig
from dali_saliencymix.pipeline.factories import train_pipeline, val_pipeline
from dali_saliencymix.torch.iterator import SaliencyMixIterator

WHO = "train_imagenet"


class TrainError(RuntimeError):
    """The run cannot go on; the message names the flag or the data at fault."""


@dataclass
class Rank:
    """The place of this process in the run (torchrun's RANK, WORLD_SIZE, LOCAL_RANK) and device."""

    rank: int
    world: int
    local: int
    device: torch.device

    @property
    def device_id(self) -> int | None:
        """The DALI device id: the local GPU, or None on the CPU."""
        return None if self.device.type == "cpu" else self.local


def setup_distributed(cpu: bool) -> Rank:
    """The rank of this process; sets the GPU, then joins the process group (torchrun)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not cpu:
        if not torch.cuda.is_available():
            raise TrainError("no CUDA GPU visible: use --cpu for a CPU run")
        torch.cuda.set_device(local)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo" if cpu else "nccl")
    return Rank(rank, world, local, torch.device("cpu" if cpu else f"cuda:{local}"))


def all_sum(values: list[float], device: torch.device, world: int) -> list[float]:
    """Element-wise sum over the ranks."""
    if world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def soft_target_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy with soft targets (probabilities per class)."""
    return F.cross_entropy(logits, targets)


def lr_at(step: int, total: int, warmup: int, base_lr: float) -> float:
    """Linear warm-up then cosine decay to 0."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * base_lr * (1 + math.cos(math.pi * min(1.0, progress)))


def load_data(args: argparse.Namespace) -> tuple[ImageFolder | ShardSet, ImageFolder | None]:
    """The training data and (with --val-dir) the validation data, in the training class map."""
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
            num_classes=args.num_classes,
            exclude=excluded_by_check(args.val_dir) if args.skip_bad else (),
        )
    return folder, val_folder


def build_loaders(
    args: argparse.Namespace, where: Rank, data: tuple, mix: MixConfig, state: dict | None
) -> tuple[SaliencyMixIterator, SaliencyMixIterator | None]:
    """The training iterator (restored from `state`) and the validation one."""
    folder, val_folder = data
    pipe = train_pipeline(
        folder,
        batch_size=args.batch_size,
        num_threads=args.workers,
        device_id=where.device_id,
        shard_id=where.rank,
        num_shards=where.world,
        seed=args.seed + where.rank,
        crop=args.crop,
        mix=mix,
        channels_last=False,
        enable_checkpointing=True,
        checkpoint=state["dali_checkpoints"][where.rank] if state else None,
    )
    loader = SaliencyMixIterator(pipe, start_epoch=state["epoch"] if state else 0)
    val_loader = None
    if val_folder is not None:
        val = val_pipeline(
            val_folder,
            batch_size=args.batch_size,
            num_threads=args.workers,
            device_id=where.device_id,
            shard_id=where.rank,
            num_shards=where.world,
            crop=args.crop,
        )
        val_loader = SaliencyMixIterator(val)
    return loader, val_loader


def train(args: argparse.Namespace) -> dict:
    """Train; returns a summary (per-epoch mean loss, images/s, validation top-1).

    With --save, rank 0 holds the save lock for the whole run (a second run saving there is
    refused before any work).
    """
    where = setup_distributed(args.cpu)
    with save_lock(args.save, where.rank):
        history = _train(args, where)
    if where.world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return history


def _train(args: argparse.Namespace, where: Rank) -> dict:
    torch.manual_seed(args.seed + where.rank)
    data = load_data(args)
    num_classes = args.num_classes or data[0].num_classes
    mix = mix_config_from_args(args, num_classes, WHO)
    fingerprint = data_fingerprint(data[0]) if args.save or args.resume else None
    state = load_checkpoint(args, fingerprint, mix, where.world) if args.resume else None
    feature.check_resume(args, state)
    saved = {"data": fingerprint, "mix": dataclasses.asdict(mix)}
    loader, val_loader = build_loaders(args, where, data, feature.pipeline_mix(args, mix), state)
    model = build_model(args.arch, num_classes).to(where.device)
    channels_last = where.device.type == "cuda" and not args.no_channels_last
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if where.world > 1:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=None if args.cpu else [where.local]
        )
    lr = args.lr if args.lr is not None else 0.1 * args.batch_size * where.world / 256
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=args.momentum, weight_decay=args.weight_decay
    )
    start_epoch = restore(state, model, optimizer, args.resume) if state else 0
    mixer = feature.build_feature_mixer(args, model, num_classes, where.rank, state)
    run = Run(args, where, model, optimizer, channels_last, lr, len(loader))
    run.forward = feature.step_forward(model, mixer)
    history: dict = {"loss": [], "images_per_second": [], "val_top1": []}
    with run.progress:
        for epoch in range(start_epoch, args.epochs):
            feature.begin_epoch(mixer, epoch)
            run.epoch(epoch, loader, history)
            if val_loader is not None:
                correct, total = evaluate(
                    model, val_loader, where.device, channels_last, num_classes
                )
                correct, total = all_sum([correct, total], where.device, where.world)
                history["val_top1"].append(correct / max(total, 1))
            run.report(epoch, history, val_loader is not None)
            if args.save:
                where_saved = (where.rank, where.world)
                run_state = {**saved, **feature.feature_mix_state(mixer, where.world)}
                save_checkpoint(args, model, optimizer, loader, epoch + 1, where_saved, run_state)
    return history


class Run:
    """One rank's training state across epochs: the schedule, the steps, the progress bar."""

    def __init__(
        self,
        args: argparse.Namespace,
        where: Rank,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        channels_last: bool,
        lr: float,
        steps_per_epoch: int,
    ) -> None:
        self.args, self.where, self.model, self.optimizer = args, where, model, optimizer
        self.channels_last, self.lr, self.steps_per_epoch = channels_last, lr, steps_per_epoch
        self.total_steps = args.epochs * steps_per_epoch
        self.warmup_steps = int(args.warmup_epochs * steps_per_epoch)
        self.show = where.rank == 0 and not args.quiet
        self.progress = _progress(self.show)
        # (images, targets) -> (logits, targets): the model, or the feature mixer around it.
        self.forward = feature.step_forward(model, None)

    def epoch(self, epoch: int, loader: SaliencyMixIterator, history: dict) -> None:
        """Train one epoch; appends its mean loss and images/s (over all ranks) to history."""
        self.model.train()
        total_loss, seen, start = 0.0, 0, time.perf_counter()
        task = self.progress.add_task(f"epoch {epoch}", total=self.steps_per_epoch, stats="")
        for step, (images, targets) in enumerate(loader):
            global_step = epoch * self.steps_per_epoch + step
            for group in self.optimizer.param_groups:
                group["lr"] = lr_at(global_step, self.total_steps, self.warmup_steps, self.lr)
            batch_loss = self.step(images, targets)
            total_loss += batch_loss * len(images)
            seen += len(images)
            rate = seen * self.where.world / (time.perf_counter() - start)
            self.progress.update(
                task,
                advance=1,
                stats=f"loss {batch_loss:.3f}  lr {self.optimizer.param_groups[0]['lr']:.4f}  "
                f"{rate:.0f} img/s",
            )
        seconds = time.perf_counter() - start
        total_loss, seen_all = all_sum(
            [total_loss, float(seen)], self.where.device, self.where.world
        )
        history["loss"].append(total_loss / max(seen_all, 1))
        history["images_per_second"].append(seen_all / seconds)

    def step(self, images: torch.Tensor, targets: torch.Tensor) -> float:
        """One forward, backward and optimiser step; returns the batch loss."""
        device = self.where.device
        images = images.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        if len(images) == 0:
            loss = self._empty_batch_loss()
        else:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.args.amp):
                logits, targets = self.forward(images, targets)
                loss = soft_target_loss(logits, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def _empty_batch_loss(self) -> torch.Tensor:
        """A zero loss through the model, for a rank whose PARTIAL last batch is empty.

        Every rank must still run a forward and backward (DDP's gradient all-reduce) and the
        optimiser step. A zero image in eval mode (BatchNorm statistics untouched), weighted 0,
        contributes nothing.
        """
        self.model.eval()
        dummy = torch.zeros((1, 3, self.args.crop, self.args.crop), device=self.where.device)
        if self.channels_last:
            dummy = dummy.contiguous(memory_format=torch.channels_last)
        loss = self.model(dummy).sum() * 0.0
        self.model.train()
        return loss

    def report(self, epoch: int, history: dict, validated: bool) -> None:
        """The epoch's line (rank 0, unless --quiet)."""
        if not self.show:
            return
        val = f", val top-1 {history['val_top1'][-1]:.3f}" if validated else ""
        self.progress.console.print(
            f"epoch {epoch}: loss {history['loss'][-1]:.4f}, "
            f"{history['images_per_second'][-1]:.0f} images/s{val}",
            markup=False,
            highlight=False,
        )


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
            raise TrainError(_bad_label(loader, int(labels[bad][0]), num_classes))
        images = images.to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        if len(images):
            correct += int((model(images).argmax(1) == labels.to(device).long()).sum())
        total += len(labels)
    return float(correct), float(total)


def _bad_label(loader: SaliencyMixIterator, label: int, num_classes: int) -> str:
    """What is wrong with a validation label, naming the shard samples when it comes from shards."""
    message = (
        f"the validation data has class id {label}, expected 0 <= id < {num_classes} (a label "
        "that is not a class of the training map"
    )
    datasets = [s.dataset for s in loader.sources if isinstance(s.dataset, ShardSet)]
    found = [text for d in datasets for text in bad_labels(d, num_classes)]
    if found:
        return f"{message}): {'; '.join(found)}"
    return f"{message}; shards written by other tools read a malformed label as -1)"
