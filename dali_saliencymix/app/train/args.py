"""The trainer's command line: data, model, optimiser, mixing (timm's flags) and checkpoints."""

from __future__ import annotations

import argparse

from dali_saliencymix.app.flags import (
    add_feature_mix_arguments,
    add_mix_arguments,
    int_at_least,
    number_at_least,
)

DESCRIPTION = "ImageNet training with DALI and SaliencyMix, ready for torchrun."


def build_parser(prog: str = "train_imagenet.py") -> argparse.ArgumentParser:
    """The trainer's argument parser (`prog`: the command's name in its usage line)."""
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    _add_data(p)
    _add_optimisation(p)
    # Mixing: timm's train.py flags with MixConfig's defaults (SaliencyMix; --cutmix 0 with
    # --mixup 0 trains without mixing), plus --cutmix-box and --mixup-pairing.
    add_mix_arguments(p, training=True)
    add_feature_mix_arguments(p, training=True)
    p.add_argument(
        "--save",
        default=None,
        help="checkpoint file written after every epoch ('{epoch}' in the name "
        "keeps one file per epoch)",
    )
    p.add_argument("--resume", default=None, help="checkpoint file to continue from")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no epoch lines")
    return p


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", help="training folder of class sub-folders (or of shards)")
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
        "as unreadable (its default output, DIR.dali-saliencymix-check/excluded.txt)",
    )
    p.add_argument(
        "--workers", type=int_at_least(1), default=4, help="DALI CPU threads per rank (default: 4)"
    )
    p.add_argument(
        "--crop", type=int_at_least(1), default=224, help="training image size (default: 224)"
    )


def _add_optimisation(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--arch", default="resnet50", help="'tiny' or a torchvision model name (default: resnet50)"
    )
    p.add_argument("--epochs", type=int_at_least(1), default=90, help="(default: 90)")
    p.add_argument(
        "--batch-size", type=int_at_least(1), default=256, help="per rank (default: 256)"
    )
    p.add_argument(
        "--lr",
        type=number_at_least(0, strictly=True),
        default=None,
        help="default: 0.1 x batch x world / 256",
    )
    p.add_argument("--momentum", type=number_at_least(0), default=0.9, help="(default: 0.9)")
    p.add_argument(
        "--weight-decay", type=number_at_least(0), default=1e-4, help="(default: 0.0001)"
    )
    p.add_argument(
        "--warmup-epochs",
        type=number_at_least(0),
        default=5.0,
        help="linear learning-rate warm-up, then cosine (default: 5)",
    )
    p.add_argument(
        "--seed", type=int_at_least(0), default=0, help="rank r uses seed + r (default: 0)"
    )
    p.add_argument("--cpu", action="store_true", help="CPU only (DALI on the CPU, gloo)")
    p.add_argument("--amp", action="store_true", help="bf16 autocast (GPU)")
    p.add_argument(
        "--no-channels-last", action="store_true", help="keep the model in NCHW memory order"
    )


def parse_args(
    argv: list[str] | None = None, prog: str = "train_imagenet.py"
) -> argparse.Namespace:
    """The trainer's arguments (exit code 2 for a malformed line or a number out of range).

    argparse's message names the flag.
    """
    return build_parser(prog).parse_args(argv)
