"""The `dali-saliencymix` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

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


def cmd_demo(args: argparse.Namespace) -> int:
    """Saliency maps of the shipped photos as a PNG, and a throughput line."""
    from dali_saliencymix.demo import photo_count, run_demo

    device_id = _gpu_device_id(args.device)
    with console.status(f"Running the demo on {photo_count()} photos..."):
        result = run_demo(
            Path(args.out), device_id=device_id, size=args.size, timed_batches=args.batches
        )
    console.print(f"Wrote [bold]{result.picture}[/bold]: image | saliency heat map | peak")
    console.print(
        f"fine_grained_saliency ({result.device}, {args.size}px shorter side, reader + decode + "
        f"resize + saliency): [bold]{result.images_per_second:.1f} images/s[/bold] "
        f"({result.images} images in {result.seconds:.2f} s)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="dali-saliencymix",
        description="SaliencyMix as an NVIDIA DALI operator plugin.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="saliency maps of the shipped photos and a throughput line")
    demo.add_argument("--out", default="out/demo.png", help="PNG to write (default: %(default)s)")
    demo.add_argument(
        "--device",
        choices=["auto", "cpu", "gpu"],
        default="auto",
        help="where DALI runs (default: GPU when available)",
    )
    demo.add_argument("--size", type=int, default=224, help="shorter side after resize")
    demo.add_argument("--batches", type=int, default=10, help="batches to time")
    demo.set_defaults(func=cmd_demo)
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
