"""The `dali-saliencymix` command: its parser and its errors (the commands: commands.py).

The library raises typed errors; this module turns them into one line on stderr, naming the
flag or the file, with exit code 2 for usage errors (bad flags and option values), 1 for data
that cannot be used, and 130 for Ctrl-C. Errors are printed as plain text: rich markup is never
applied to them, so DALI's ``[/opt/dali/...]`` context lines print as they are.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from dali_saliencymix.app.check import EXIT_CODES as CHECK_EXIT_CODES
from dali_saliencymix.app.commands import (
    UsageError,
    cmd_bench,
    cmd_check,
    cmd_demo,
    cmd_preview,
    cmd_shards,
)
from dali_saliencymix.app.flags import (
    add_feature_mix_arguments,
    add_mix_arguments,
    int_at_least,
    option_message,
)
from dali_saliencymix.data.names import printable
from dali_saliencymix.options import OptionError

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


def _add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--size", type=_positive_int, default=224, help="crop size (default: %(default)s)"
    )
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
    demo.add_argument(
        "--batches", type=_positive_int, default=10, help="batches to time (default: %(default)s)"
    )
    add_mix_arguments(demo)
    _add_pipeline_options(demo)
    demo.set_defaults(func=cmd_demo)


def _add_preview(sub: argparse._SubParsersAction) -> None:
    preview = sub.add_parser(
        "preview",
        help="a grid of mixed images from DATA_DIR",
        description="A grid of one batch of DATA_DIR mixed three ways side by side: MixUp, "
        "CutMix (random box) and SaliencyMix, with each sample's box and label weight. To show "
        "the kinds, every sample is mixed with its own draw and with sample N-1-i (mode elem, "
        "prob 1); training's default (mode batch) pastes one box into the whole batch.",
    )
    preview.add_argument("data_dir", help="folder of class sub-folders of images")
    preview.add_argument("--out", required=True, help="PNG to write")
    preview.add_argument(
        "--batch-size",
        type=_positive_int,
        default=8,
        help="images in the grid (default: %(default)s)",
    )
    preview.add_argument(
        "--seed",
        type=_non_negative_int,
        default=1,
        help="seed of the crops and draws (default: %(default)s)",
    )
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
    bench.add_argument(
        "--batch-size", type=_positive_int, default=32, help="(default: %(default)s)"
    )
    bench.add_argument(
        "--batches", type=_positive_int, default=20, help="batches timed (default: %(default)s)"
    )
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
        "excluded.txt ('path<TAB>reason', the path escaped: \\n, \\t, \\\\) into --out, "
        "after checking that it can write there. " + CHECK_EXIT_CODES,
    )
    check.add_argument("data_dir", help="folder of class sub-folders of images")
    check.add_argument(
        "--out",
        default=None,
        help="folder for the lists (default: DATA_DIR.dali-saliencymix-check beside DATA_DIR, "
        "where the trainer's --skip-bad looks; not inside it, where a plain DALI file reader "
        "would count it as a class)",
    )
    check.add_argument(
        "--threads", type=_positive_int, default=None, help="decoding threads (default: all cores)"
    )
    check.add_argument(
        "--batch-size", type=_positive_int, default=None, help="files per decoded batch"
    )
    # The check could not finish: exit code 2 (1 means it listed exclusions).
    check.set_defaults(func=cmd_check, failure_code=2)


def _add_shards(sub: argparse._SubParsersAction) -> None:
    shards = sub.add_parser(
        "shards",
        help="write WebDataset tar shards of DATA_DIR into OUT_DIR, in the class map's ids",
        description="Decode every file of DATA_DIR (as the package scans it) with DALI's CPU "
        "decoder, then write them into WebDataset tar shards: <key>.jpg + <key>.cls (class id "
        "as ASCII) per sample, a DALI index per tar, and manifest.json with the class names, "
        "written last. train_pipeline, val_pipeline and the trainer read OUT_DIR like a class "
        "folder. One writer at a time (OUT_DIR/.writing.lock); an interrupted write leaves a "
        "folder that is refused when read, or nothing (Ctrl-C).",
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
    shards.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out the files that cannot be used (unreadable, not images, damaged), listed "
        "in manifest.json; without it they stop the command, named, before anything is written",
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
    # Listed here; `main` hands its arguments to the trainer's own parser.
    sub.add_parser(
        "train",
        help="train a classifier with SaliencyMix (pipelines/train_imagenet.py, installed); "
        "its flags: dali-saliencymix train --help",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dali-saliencymix` console command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:  # the trainer parses its own flags and prints its own errors
        from dali_saliencymix.app.train import main as train

        train(argv[1:], prog="dali-saliencymix train")
        return 0
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
        return _fail(f"{where}: {err}", getattr(args, "failure_code", 1))


def _fail(message: str, code: int) -> int:
    """Print one line (plain text, no markup; file names' bytes escaped) on stderr; return code."""
    errors.print(Text(printable(" ".join(message.split())), style="red"), soft_wrap=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
