"""The trainer's checkpoints: model, optimiser, epoch, options, classes and DALI's state."""

from __future__ import annotations

import argparse
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from dali_saliencymix.torch.iterator import SaliencyMixIterator


class CheckpointError(RuntimeError):
    """A checkpoint cannot be resumed from; the message says why and what to do."""


def load_checkpoint(args: argparse.Namespace, classes: list[str], world: int) -> dict[str, Any]:
    """The state saved in ``args.resume``, checked against this run (classes, ranks, batch)."""
    state = torch.load(args.resume, map_location="cpu", weights_only=False)
    if state.get("classes") not in (None, classes):
        raise CheckpointError(
            f"--resume {args.resume}: saved with {len(state['classes'])} classes "
            f"({state['classes'][:3]}...), but {args.data_dir} has {len(classes)} "
            f"({classes[:3]}...): resume on the same classes"
        )
    if len(state["dali_checkpoints"]) != world or state["args"]["batch_size"] != args.batch_size:
        raise CheckpointError(
            f"--resume {args.resume}: saved with {len(state['dali_checkpoints'])} "
            f"ranks and batch size {state['args']['batch_size']}; resume with the "
            f"same (now {world} ranks, batch size {args.batch_size})"
        )
    return state


def save_checkpoint(
    args: argparse.Namespace,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: SaliencyMixIterator,
    epoch: int,
    world: int,
    rank: int,
    extra: dict[str, Any] | None = None,
) -> None:
    """Model, optimiser, epoch, options, class names and every rank's DALI checkpoint (rank 0).

    `extra`: more entries (every rank's feature mixer state: ``feature.feature_mix_state``).
    """
    dali_checkpoint = loader.checkpoints()[0]
    checkpoints = [None] * world
    if world > 1:
        dist.all_gather_object(checkpoints, dali_checkpoint)
    else:
        checkpoints = [dali_checkpoint]
    if rank == 0:
        state = {
            "model": unwrap(model).state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "args": vars(args),
            "classes": loader.classes,
            "dali_checkpoints": checkpoints,
            **(extra or {}),
        }
        torch.save(state, args.save.replace("{epoch}", str(epoch)))


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DistributedDataParallel (or the model itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
