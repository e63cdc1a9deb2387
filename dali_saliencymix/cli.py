"""The `dali-saliencymix` command: demo, preview and bench."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()


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
        raise SystemExit("dali-saliencymix: --device gpu asked for, but no CUDA GPU is available")
    return 0 if available else None


def _mix_config(args: argparse.Namespace, num_classes: int) -> object:
    from dali_saliencymix.pipeline import MixConfig

    return MixConfig(
        num_classes=args.num_classes or num_classes,
        alpha=args.alpha,
        prob=args.prob,
        mode=args.mode,
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
    root: Path, device_id: int | None, batch_size: int, batches: int, size: int, mix: object
) -> list:
    from dali_saliencymix.demo import bench_pipelines

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
    from dali_saliencymix.dataset import scan_image_folder
    from dali_saliencymix.demo import PHOTO_DIR, write_preview

    device_id = _gpu_device_id(args.device)
    folder = scan_image_folder(PHOTO_DIR)
    mix = _mix_config(args, folder.num_classes)
    with console.status(f"Mixing {folder.num_files} shipped photos..."):
        out = write_preview(
            PHOTO_DIR,
            Path(args.out),
            batch_size=folder.num_files,
            device_id=device_id,
            size=args.size,
            mix=mix,
        )
    console.print(
        f"Wrote [bold]{out}[/bold]: mixed image with its box and label weights | "
        "source | source saliency with its peak"
    )
    rows = _run_bench(PHOTO_DIR, device_id, folder.num_files, args.batches, args.size, mix)
    where = "gpu" if device_id is not None else "cpu"
    console.print(
        f"training pipeline ({where}, reader + decode + crop {args.size} + SaliencyMix + "
        f"normalise): [bold]{rows[1].images_per_second:.1f} images/s[/bold] "
        f"({rows[0].images_per_second:.1f} without mixing, ratio "
        f"{rows[1].images_per_second / rows[0].images_per_second:.2f})"
    )
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    """A grid of mixed images from DATA_DIR."""
    from dali_saliencymix.dataset import scan_image_folder
    from dali_saliencymix.demo import write_preview

    folder = scan_image_folder(args.data_dir, args.num_classes)
    mix = _mix_config(args, folder.num_classes)
    with console.status(f"Mixing {args.batch_size} images from {folder.root}..."):
        out = write_preview(
            folder.root,
            Path(args.out),
            batch_size=args.batch_size,
            device_id=_gpu_device_id(args.device),
            size=args.size,
            mix=mix,
            seed=args.seed,
        )
    console.print(
        f"Wrote [bold]{out}[/bold] ({args.batch_size} mixed images, {folder.num_classes} classes)"
    )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Images per second of the training pipeline with and without mixing."""
    from dali_saliencymix.dataset import scan_image_folder
    from dali_saliencymix.demo import PHOTO_DIR

    root = Path(args.data_dir) if args.data_dir else PHOTO_DIR
    folder = scan_image_folder(root, args.num_classes)
    device_id = _gpu_device_id(args.device)
    mix = _mix_config(args, folder.num_classes)
    rows = _run_bench(root, device_id, args.batch_size, args.batches, args.size, mix)
    where = "GPU" if device_id is not None else "CPU"
    console.print(
        _bench_table(
            rows,
            f"{where} training pipeline, batch {args.batch_size}, {args.size}px, {folder.root}",
        )
    )
    return 0


def _add_mix_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--num-classes", type=int, default=None, help="default: the number of class folders"
    )
    parser.add_argument("--alpha", type=float, default=1.0, help="lam ~ Beta(alpha, alpha)")
    parser.add_argument("--prob", type=float, default=1.0, help="probability of mixing")
    parser.add_argument("--mode", choices=["elem", "batch"], default="elem")
    parser.add_argument("--size", type=int, default=224, help="crop size")
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "gpu"],
        default="auto",
        help="where DALI runs (default: the GPU when there is one)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="dali-saliencymix",
        description="SaliencyMix as an NVIDIA DALI operator plugin.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="the shipped photos through the training pipeline: a "
        "preview picture and a throughput line",
    )
    demo.add_argument("--out", default="out/demo.png", help="PNG to write (default: %(default)s)")
    demo.add_argument("--batches", type=int, default=10, help="batches to time")
    _add_mix_options(demo)
    demo.set_defaults(func=cmd_demo)

    preview = sub.add_parser("preview", help="a grid of mixed images from DATA_DIR")
    preview.add_argument("data_dir", help="folder of class sub-folders of images")
    preview.add_argument("--out", required=True, help="PNG to write")
    preview.add_argument("--batch-size", type=int, default=8, help="images in the grid")
    preview.add_argument("--seed", type=int, default=1)
    _add_mix_options(preview)
    preview.set_defaults(func=cmd_preview)

    bench = sub.add_parser(
        "bench", help="images/s of the training pipeline with and without mixing"
    )
    bench.add_argument(
        "data_dir",
        nargs="?",
        default=None,
        help="folder of class sub-folders (default: the shipped photos)",
    )
    bench.add_argument("--batch-size", type=int, default=32)
    bench.add_argument("--batches", type=int, default=20)
    _add_mix_options(bench)
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dali-saliencymix` console command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ImportError, RuntimeError, ValueError) as err:
        console.print(f"[red]dali-saliencymix {args.command}: {err}[/red]")
        return 1


if __name__ == "__main__":
    sys.exit(main())
