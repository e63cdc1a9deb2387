"""The commands of `dali-saliencymix`: demo, preview, bench, check and shards (cli.py parses).

Each command returns its exit code or raises: the library's typed errors, and UsageError for a
command-line value that cannot be used; cli.py turns them into one line and an exit code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from dali_saliencymix.app.flags import mix_config_from_args
from dali_saliencymix.app.pictures import picture_format
from dali_saliencymix.data import PHOTO_DIR
from dali_saliencymix.data.folder import ImageFolder, scan_image_folder
from dali_saliencymix.data.shards import is_shard_source
from dali_saliencymix.options import MixConfig

console = Console()


class UsageError(ValueError):
    """A command-line value that cannot be used (exit code 2)."""


def _gpu_device_id(device: str) -> int | None:
    """None for the CPU; 0 for the GPU when asked or when one is usable ('auto')."""
    if device == "cpu":
        return None
    try:
        import torch

        available = torch.cuda.is_available()
    except Exception:  # noqa: BLE001 - any failure means no usable GPU
        available = False
    if device == "gpu" and not available:
        raise UsageError("--device gpu asked for, but no CUDA GPU is available")
    return 0 if available else None


def _dataset_and_mix(args: argparse.Namespace, root: str | Path) -> tuple[ImageFolder, MixConfig]:
    """The scanned dataset (checked against --num-classes) and the mixing options of a command.

    demo and bench compare mixing with no mixing, so they refuse flags that switch it off.
    """
    _not_shards(root, args.command)
    if getattr(args, "out", None) is not None:
        try:
            picture_format(Path(args.out))
        except ValueError as err:
            raise UsageError(f"--out {err}") from None
    folder = scan_image_folder(root, args.num_classes)
    mix = mix_config_from_args(args, folder.num_classes, f"dali-saliencymix {args.command}")
    if not mix.enabled:
        raise UsageError(
            "--mixup and --cutmix are both 0, so nothing would be mixed: give --cutmix 1.0 "
            "(SaliencyMix), --mixup 0.8, or both"
        )
    return folder, mix


def _not_shards(root: str | Path, command: str) -> None:
    """Refuse a folder of WebDataset shards where a class folder is read (exit code 2)."""
    if is_shard_source(root):
        raise UsageError(
            f"{root} is a folder of WebDataset shards; {command} reads a class folder of "
            "images: give the folder the shards were written from"
        )


def _bench_table(rows: list, title: str) -> Table:
    table = Table(title=title)
    table.add_column("pipeline")
    table.add_column("images/s", justify="right")
    table.add_column("vs no mixing", justify="right")
    for row in rows:
        table.add_row(
            row.name,
            f"{row.images_per_second:.1f}",
            f"{row.images_per_second / rows[0].images_per_second:.2f}",
        )
    return table


def _run_bench(
    root: ImageFolder, device_id: int | None, batch_size: int, batches: int, size: int, mix: object
) -> list:
    from dali_saliencymix.app.bench import bench_pipelines

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("timing pipelines", total=2 * batches)
        return bench_pipelines(
            root,
            device_id=device_id,
            batch_size=batch_size,
            batches=batches,
            size=size,
            mix=mix,
            progress=lambda k: progress.advance(task, k),
        )


def cmd_demo(args: argparse.Namespace) -> int:
    """The shipped photos through the training pipeline: a preview picture and a throughput line."""
    from dali_saliencymix.app.bench import mix_name
    from dali_saliencymix.app.preview import write_preview

    device_id = _gpu_device_id(args.device)
    folder, mix = _dataset_and_mix(args, PHOTO_DIR)
    with console.status(f"Mixing {folder.num_files} shipped photos..."):
        out = write_preview(
            folder,
            Path(args.out),
            batch_size=folder.num_files,
            device_id=device_id,
            size=args.size,
            mix=mix,
        )
    console.print(
        Text.assemble(
            "Wrote ",
            (str(out), "bold"),
            ": per photo MixUp | CutMix | SaliencyMix (boxes, label weights) | source | source "
            "saliency with its peak",
        )
    )
    rows = _run_bench(folder, device_id, folder.num_files, args.batches, args.size, mix)
    where = "gpu" if device_id is not None else "cpu"
    console.print(
        Text.assemble(
            f"training pipeline ({where}, reader + decode + crop {args.size} + {mix_name(mix)} "
            "+ normalise): ",
            (f"{rows[1].images_per_second:.1f} images/s", "bold"),
            f" ({rows[0].images_per_second:.1f} without mixing, ratio "
            f"{rows[1].images_per_second / rows[0].images_per_second:.2f})",
        )
    )
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    """A grid of mixed images from DATA_DIR, captions named by the dataset's class map."""
    folder, mix = _dataset_and_mix(args, args.data_dir)
    if args.checkpoint and not args.feature_mix:
        raise UsageError("--checkpoint is the model of --feature-mix: give --feature-mix LAYER")
    with console.status(f"Mixing {args.batch_size} images from {folder.root}..."):
        out = _write_preview(args, folder, mix)
    console.print(
        Text.assemble(
            "Wrote ",
            (str(out), "bold"),
            f" ({args.batch_size} mixed images, {folder.num_classes} classes)",
        )
    )
    return 0


def _write_preview(args: argparse.Namespace, folder: ImageFolder, mix: MixConfig) -> Path:
    """The image preview, or with --feature-mix the boxes of SaliencyMix on feature maps."""
    common = {
        "batch_size": args.batch_size,
        "device_id": _gpu_device_id(args.device),
        "size": args.size,
        "mix": mix,
        "seed": args.seed,
    }
    if args.feature_mix:
        from dali_saliencymix.app.feature_preview import write_feature_preview

        return write_feature_preview(
            folder,
            Path(args.out),
            layers=args.feature_mix,
            checkpoint=args.checkpoint,
            saliency=args.feature_saliency,
            **common,
        )
    from dali_saliencymix.app.preview import write_preview

    return write_preview(folder, Path(args.out), **common)


def cmd_bench(args: argparse.Namespace) -> int:
    """Images per second of the training pipeline with and without mixing."""
    folder, mix = _dataset_and_mix(args, Path(args.data_dir) if args.data_dir else PHOTO_DIR)
    device_id = _gpu_device_id(args.device)
    rows = _run_bench(folder, device_id, args.batch_size, args.batches, args.size, mix)
    where = "GPU" if device_id is not None else "CPU"
    console.print(
        _bench_table(
            rows,
            f"{where} training pipeline, batch {args.batch_size}, {args.size}px, {folder.root}",
        )
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Decode every file of DATA_DIR; list what cannot be used; write a clean file list."""
    from dali_saliencymix.app.check import check_command

    _not_shards(args.data_dir, "check")  # shards decodes what it packs; training names samples
    return check_command(
        args.data_dir,
        console,
        out=args.out,
        num_threads=args.threads,
        batch_size=args.batch_size,
    )


def cmd_shards(args: argparse.Namespace) -> int:
    """Write WebDataset tar shards of DATA_DIR into OUT_DIR."""
    from dali_saliencymix.app.shards import shards_command
    from dali_saliencymix.data.load import load_dataset

    classes = load_dataset(args.classes_from).classes if args.classes_from else None
    shards_command(
        args.data_dir,
        args.out_dir,
        args.shard_size,
        console,
        shuffle_seed=args.seed,
        classes=classes,
        skip_bad=args.skip_bad,
    )
    return 0
