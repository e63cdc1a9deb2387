"""The `dali-saliencymix` command: demo, preview, bench, check and shards.

The library raises typed errors; this module turns them into one line on stderr, naming the
flag or the file, with exit code 2 for usage errors (bad flags and option values), 1 for data
that cannot be used, and 130 for Ctrl-C. Errors are printed as plain text: rich markup is never
applied to them, so DALI's ``[/opt/dali/...]`` context lines print as they are.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from dali_saliencymix.app.flags import (
    add_feature_mix_arguments,
    add_mix_arguments,
    int_at_least,
    mix_config_from_args,
    option_message,
)
from dali_saliencymix.data import PHOTO_DIR
from dali_saliencymix.data.folder import ImageFolder, scan_image_folder
from dali_saliencymix.options import MixConfig, OptionError

console = Console()
errors = Console(stderr=True)

_positive_int = int_at_least(1)
_non_negative_int = int_at_least(0)

# What the preview's picture takes from the flags; it shows every kind, every sample mixed.
PREVIEW_FIELDS = (
    "mixup_alpha",
    "cutmix_alpha",
    "cutmix_minmax",
    "label_smoothing",
    "placement",
    "label_weights",
)


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
    folder = scan_image_folder(root, args.num_classes)
    mix = mix_config_from_args(args, folder.num_classes, f"dali-saliencymix {args.command}")
    if not mix.enabled:
        raise UsageError(
            "--mixup and --cutmix are both 0, so nothing would be mixed: give --cutmix 1.0 "
            "(SaliencyMix), --mixup 0.8, or both"
        )
    return folder, mix


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
    )
    return 0


def _add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=_positive_int, default=224, help="crop size")
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "gpu"],
        default="auto",
        help="where DALI runs (default: the GPU when there is one)",
    )


def _add_demo(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo",
        help="the shipped photos through the training pipeline: a preview picture and a "
        "throughput line",
    )
    demo.add_argument("--out", default="out/demo.png", help="PNG to write (default: %(default)s)")
    demo.add_argument("--batches", type=_positive_int, default=10, help="batches to time")
    add_mix_arguments(demo)
    _add_pipeline_options(demo)
    demo.set_defaults(func=cmd_demo)


def _add_preview(sub: argparse._SubParsersAction) -> None:
    preview = sub.add_parser("preview", help="a grid of mixed images from DATA_DIR")
    preview.add_argument("data_dir", help="folder of class sub-folders of images")
    preview.add_argument("--out", required=True, help="PNG to write")
    preview.add_argument("--batch-size", type=_positive_int, default=8, help="images in the grid")
    preview.add_argument("--seed", type=_non_negative_int, default=1)
    add_mix_arguments(preview, only=PREVIEW_FIELDS)
    add_feature_mix_arguments(preview, training=False)
    preview.add_argument(
        "--checkpoint",
        default=None,
        help="with --feature-mix: the model of this trainer checkpoint (train_imagenet.py "
        "--save) instead of an untrained torchvision ResNet-18",
    )
    _add_pipeline_options(preview)
    preview.set_defaults(func=cmd_preview)


def _add_bench(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser(
        "bench", help="images/s of the training pipeline with and without mixing"
    )
    bench.add_argument(
        "data_dir",
        nargs="?",
        default=None,
        help="folder of class sub-folders (default: the shipped photos)",
    )
    bench.add_argument("--batch-size", type=_positive_int, default=32)
    bench.add_argument("--batches", type=_positive_int, default=20)
    add_mix_arguments(bench)
    _add_pipeline_options(bench)
    bench.set_defaults(func=cmd_bench)


def _add_check(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser(
        "check",
        help="decode every file of DATA_DIR with DALI's decoder; list the files that cannot be "
        "used and write a clean file list",
        description="Decode every file of DATA_DIR with DALI's CPU image decoder, on all cores. "
        "Writes files.txt (the clean list, DALI's 'path label' format), classes.txt and "
        "excluded.txt ('path<TAB>reason') into --out. Exits 1 when files were excluded.",
    )
    check.add_argument("data_dir", help="folder of class sub-folders of images")
    check.add_argument(
        "--out",
        default=None,
        help="folder for the lists (default: DATA_DIR/.dali-saliencymix-check, where the "
        "trainer's --skip-bad looks)",
    )
    check.add_argument(
        "--threads", type=_positive_int, default=None, help="decoding threads (default: all cores)"
    )
    check.add_argument(
        "--batch-size", type=_positive_int, default=None, help="files per decoded batch"
    )
    check.set_defaults(func=cmd_check)


def _add_shards(sub: argparse._SubParsersAction) -> None:
    shards = sub.add_parser(
        "shards",
        help="write WebDataset tar shards of DATA_DIR into OUT_DIR, in the class map's ids",
        description="Write the files of DATA_DIR (as the package scans it) into WebDataset tar "
        "shards: <key>.jpg + <key>.cls (class id as ASCII) per sample, a DALI index per tar, "
        "and manifest.json with the class names. train_pipeline, val_pipeline and the trainer "
        "read OUT_DIR like a class folder.",
    )
    shards.add_argument("data_dir", help="folder of class sub-folders of images")
    shards.add_argument("out_dir", help="folder to write the shards into (new or empty)")
    shards.add_argument(
        "--shard-size", type=_positive_int, required=True, help="samples per tar shard"
    )
    shards.add_argument(
        "--classes-from",
        default=None,
        help="take the class map from this training folder or shard folder (for validation "
        "data: ids must be the training ids)",
    )
    shards.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the order the samples are written in (DALI shuffles shards only within "
        "a buffer, so they are written shuffled; default: %(default)s)",
    )
    shards.set_defaults(func=cmd_shards)


def build_parser() -> argparse.ArgumentParser:
    """Argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="dali-saliencymix",
        description="SaliencyMix as an NVIDIA DALI operator plugin.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_demo, _add_preview, _add_bench, _add_check, _add_shards):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dali-saliencymix` console command; returns the exit code."""
    args = build_parser().parse_args(argv)
    where = f"dali-saliencymix {args.command}"
    try:
        return args.func(args)
    except OptionError as err:
        return _fail(option_message(err.named(where)), 2)
    except UsageError as err:
        return _fail(f"{where}: {err}", 2)
    except KeyboardInterrupt:
        return _fail(f"{where}: interrupted (Ctrl-C)", 130)
    except (ImportError, RuntimeError, ValueError, OSError) as err:
        return _fail(f"{where}: {err}", 1)


def _fail(message: str, code: int) -> int:
    """Print one line (plain text, no markup) on stderr; return the exit code."""
    errors.print(Text(" ".join(message.split()), style="red"), soft_wrap=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
