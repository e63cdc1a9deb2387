"""The trainer's checkpoints: model, optimiser, epoch, options, data fingerprint, DALI's state.

Nothing is lost and nothing resumes on the wrong data:

- a checkpoint is written under a temporary name and renamed when complete, so a kill at any
  moment leaves the last good one (``data.writing.atomic_path``);
- rank 0 holds ``SAVE.lock`` (exclusive creation) for the whole run: a second run saving to
  the same file is refused, and a lock left by a killed run is reported with what to do;
- a resume refuses what DALI's saved reader state does not fit, each with one line: other
  classes, another number of files, other files (a fingerprint of the file list in reading
  order), other ranks or batch size, other mixing options (DALI restores its state only into
  the same pipeline), another model; and a run that already trained its epochs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from dali_saliencymix._text import counted
from dali_saliencymix.app.flags import flag_of
from dali_saliencymix.data.folder import ImageFolder
from dali_saliencymix.data.shards import ShardSet
from dali_saliencymix.data.writing import LockedError, atomic_path, exclusive_lock
from dali_saliencymix.options import MixConfig
from dali_saliencymix.torch.iterator import SaliencyMixIterator

# What a checkpoint of this trainer holds (older ones lack "data" and "mix").
KEYS = ("model", "optimizer", "epoch", "args", "classes", "dali_checkpoints", "data", "mix")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be written or resumed from; the message says why and what to do.

    ``code`` is the exit code: 2 for a --resume or --save that cannot be used, 1 otherwise.
    """

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def lock_path(save: str) -> Path:
    """The lock file of a --save path (its '{epoch}' pattern kept as it is)."""
    return Path(save + ".lock")


@contextlib.contextmanager
def save_lock(save: str | None, rank: int) -> Iterator[None]:
    """Rank 0 holds the lock of `save` while the run lasts (nothing without --save)."""
    if save is None or rank != 0:
        yield
        return
    lock = lock_path(save)
    with contextlib.ExitStack() as held:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            held.enter_context(
                exclusive_lock(lock, f"--save {save}", f"remove it and run again (rm {lock})")
            )
        except LockedError as err:
            raise CheckpointError(str(err), code=1) from None
        except OSError as err:
            raise CheckpointError(
                f"--save {save}: cannot write in {lock.parent} ({err.strerror or err}); give a "
                "path in a folder you can write"
            ) from None
        _remove_stale_temporaries(save)
        yield


def data_fingerprint(dataset: ImageFolder | ShardSet) -> dict[str, Any]:
    """Number of files, classes and a hash of the file list in reading order (with the labels).

    Folders and lists: paths relative to the root and class ids; shards: tar names and sizes.
    """
    if isinstance(dataset, ImageFolder):
        root = f"{dataset.root}/" if str(dataset.root) != "." else ""
        lines = [
            f"{str(f).removeprefix(root)}\t{label}"
            for f, label in zip(dataset.files, dataset.labels, strict=True)
        ]
        count = dataset.num_files
    else:
        lines = [f"{p.name}\t{p.stat().st_size}" for p in dataset.paths]
        count = dataset.num_samples
    digest = hashlib.sha256()
    for start in range(0, len(lines), 100_000):
        text = "".join(f"{line}\n" for line in lines[start : start + 100_000])
        digest.update(text.encode("utf-8", "surrogateescape"))
    return {"files": count, "classes": dataset.classes, "sha256": digest.hexdigest()}


def load_checkpoint(
    args: argparse.Namespace, fingerprint: dict[str, Any], mix: MixConfig, world: int
) -> dict[str, Any]:
    """The state saved in ``args.resume``, checked against this run (see the module's list).

    `fingerprint` is :func:`data_fingerprint` of this run's training data.
    """
    where = f"--resume {args.resume}"
    state = _read(args.resume)
    if state["epoch"] >= args.epochs:
        raise CheckpointError(
            f"{where}: the run already trained {counted(state['epoch'], 'epoch')}; give "
            f"--epochs above {state['epoch']} to train more"
        )
    _check_data(where, state["data"], fingerprint, args.data_dir)
    if len(state["dali_checkpoints"]) != world or state["args"]["batch_size"] != args.batch_size:
        raise CheckpointError(
            f"{where}: saved with {counted(len(state['dali_checkpoints']), 'rank')} and batch "
            f"size {state['args']['batch_size']}; resume with the same (now "
            f"{counted(world, 'rank')}, batch size {args.batch_size})"
        )
    now = dataclasses.asdict(mix)
    changed = [k for k in now if state["mix"].get(k) != now[k]]
    if changed:
        said = ", ".join(f"{flag_of(k)} {state['mix'].get(k)} (now {now[k]})" for k in changed)
        raise CheckpointError(
            f"{where}: saved with other mixing options ({said}); a run resumes with the options "
            "it was saved with (the pipeline's and the mixer's state only fit those)"
        )
    if state["args"].get("arch") != args.arch:
        raise CheckpointError(
            f"{where}: saved with --arch {state['args'].get('arch')}, now --arch {args.arch}"
        )
    return state


def restore(
    state: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer, path: str
) -> int:
    """Load the saved model and optimiser; returns the epoch to continue from."""
    try:
        unwrap(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"--resume {path}: its model or optimiser does not fit this run's ({first})"
        ) from None
    return int(state["epoch"])


def save_checkpoint(
    args: argparse.Namespace,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: SaliencyMixIterator,
    epoch: int,
    where: tuple[int, int],
    run: dict[str, Any],
) -> None:
    """Model, optimiser, epoch, options, the data's fingerprint and every rank's DALI state.

    `where` is (rank, world); `run` holds ``data`` (:func:`data_fingerprint`) and ``mix`` (the
    MixConfig as a dict), and with ``--feature-mix`` every rank's mixer state
    (``feature_mix``). Rank 0 writes the file through a temporary name (renamed when complete);
    a write that fails raises CheckpointError (code 1) and leaves the former file.
    """
    rank, world = where
    dali_checkpoint = loader.checkpoints()[0]
    checkpoints = [None] * world
    if world > 1:
        dist.all_gather_object(checkpoints, dali_checkpoint)
    else:
        checkpoints = [dali_checkpoint]
    if rank != 0:
        return
    state = {
        "model": unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "args": vars(args),
        "classes": loader.classes,
        "dali_checkpoints": checkpoints,
        **run,
    }
    path = args.save.replace("{epoch}", str(epoch))
    try:
        with atomic_path(path) as temp:
            torch.save(state, temp)
    except (OSError, RuntimeError) as err:  # torch's zip writer raises RuntimeError on ENOSPC
        reason = (err.strerror if isinstance(err, OSError) else None) or str(err).splitlines()[0]
        raise CheckpointError(
            f"--save {path}: {reason} (the former checkpoint is kept)", code=1
        ) from None


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DistributedDataParallel (or the model itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def _read(path: str) -> dict[str, Any]:
    """The checkpoint at `path`, or CheckpointError saying why it cannot be one."""
    if not Path(path).is_file():
        raise CheckpointError(f"--resume {path} does not exist (give a file written by --save)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - whatever torch.load fails with, the file is no checkpoint
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise CheckpointError(
            f"--resume {path} is not a checkpoint this trainer can read ({type(err).__name__}: "
            f"{first[:200]}); give a file written by --save"
        ) from None
    missing = [k for k in KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(
            f"--resume {path} is not a checkpoint of this trainer's version (it lacks "
            f"{', '.join(missing)}); give a file written by --save"
        )
    return state


def _check_data(where: str, saved: dict, now: dict, data_dir: str) -> None:
    """Refuse data that differs from the checkpoint's: classes, file count, files."""
    if saved["classes"] not in (None, now["classes"]) and now["classes"] is not None:
        raise CheckpointError(
            f"{where}: saved with {len(saved['classes'])} classes ({saved['classes'][:3]}...), "
            f"but {data_dir} has {len(now['classes'])} ({now['classes'][:3]}...): resume on "
            "the same classes"
        )
    if saved["files"] != now["files"]:
        raise CheckpointError(
            f"{where}: saved after training on {saved['files']} files, but {data_dir} has "
            f"{now['files']}: DALI's saved reader state fits only the same files; resume on the "
            "same data (or train from scratch without --resume)"
        )
    if saved["sha256"] != now["sha256"]:
        raise CheckpointError(
            f"{where}: {data_dir} has {now['files']} files as when it was saved, but not the "
            "same files (names, labels or order differ: other files, another --file-list or "
            "--skip-bad); resume on the same data"
        )


def _remove_stale_temporaries(save: str) -> None:
    """Remove the temporary files that a killed run left beside its checkpoints."""
    pattern = Path(save.replace("{epoch}", "*"))
    for temp in pattern.parent.glob(f".{pattern.name}.*.tmp"):
        temp.unlink(missing_ok=True)
