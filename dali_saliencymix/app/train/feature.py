"""``--feature-mix``: SaliencyMix on feature maps, inside the model, in the trainer.

With ``--feature-mix LAYER[,LAYER...]`` the family's flags (``--cutmix``, ``--cutmix-minmax``,
``--mixup-prob``, ``--mixup-mode``, ``--mixup-pairing``, ``--smoothing``, ``--cutmix-box``,
``--mixup-off-epoch``) configure :class:`~dali_saliencymix.torch.FeatureSaliencyMix`, and the
DALI pipeline delivers unmixed one-hot targets. Input-level mixing is not combined with it: one
set of flags configures one mixer, and a step's target stays the mix of two labels (combining
both would mix up to four images per sample, a recipe no published result describes). Each
rank's mixer draws from its own generator (seed + rank), whose state goes into the checkpoints,
so a resumed run draws the same layers and boxes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from dali_saliencymix.app.flags import mix_config_from_args
from dali_saliencymix.app.train.checkpoint import CheckpointError
from dali_saliencymix.app.train.models import ModelError
from dali_saliencymix.options import MixConfig, OptionError
from dali_saliencymix.torch.feature_boxes import FeatureMixError
from dali_saliencymix.torch.feature_mix import FeatureSaliencyMix, feature_mix_options

Forward = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def feature_options(args: argparse.Namespace, num_classes: int) -> MixConfig:
    """The feature mixer's options from the mixing flags; an OptionError names the flag."""
    mix = mix_config_from_args(args, num_classes, "--feature-mix")
    if not mix.enabled:
        raise OptionError("--feature-mix mixes by CutMix, so {cutmix_alpha} must be > 0")
    try:
        return feature_mix_options(mix, {})
    except OptionError as err:
        raise OptionError(f"--feature-mix {err.template}") from None


def pipeline_mix(args: argparse.Namespace, mix: MixConfig) -> MixConfig:
    """The input pipeline's mixing: `mix`, or none (one-hot targets) with ``--feature-mix``."""
    if not args.feature_mix:
        return mix
    feature_options(args, mix.num_classes)  # refuse bad flags before the pipelines are built
    return MixConfig(num_classes=mix.num_classes, enabled=False)


def check_resume(args: argparse.Namespace, state: dict[str, Any] | None) -> None:
    """Refuse a checkpoint saved with ``--feature-mix`` for a run without, and the reverse.

    Checked before the pipelines are built: theirs differ, and DALI could not restore the
    state of one into the other.
    """
    if state is None:
        return
    saved = state.get("feature_mix")
    if bool(saved) != bool(args.feature_mix):
        raise CheckpointError(
            f"--resume {args.resume}: saved {'with' if saved else 'without'} --feature-mix; "
            "resume with the same mixing"
        )
    before = state.get("args", {})
    changed = [
        f"--{name.replace('_', '-')} {_flag_value(before.get(name))} (now "
        f"{_flag_value(getattr(args, name))})"
        for name in ("feature_mix", "feature_saliency")
        if saved and before.get(name) != getattr(args, name)
    ]
    if changed:
        raise CheckpointError(
            f"--resume {args.resume}: saved with other feature mixing ({', '.join(changed)}); "
            "resume with the same"
        )


def _flag_value(value: object) -> str:
    return ",".join(value) if isinstance(value, list) else str(value)


def build_feature_mixer(
    args: argparse.Namespace,
    model: nn.Module,
    num_classes: int,
    rank: int,
    state: dict[str, Any] | None,
) -> FeatureSaliencyMix | None:
    """The rank's mixer (None without ``--feature-mix``), its generator restored from `state`.

    `state` has passed :func:`check_resume`.
    """
    if not args.feature_mix:
        return None
    options = feature_options(args, num_classes)
    try:
        mixer = FeatureSaliencyMix(
            model, args.feature_mix, options, saliency=args.feature_saliency, seed=args.seed + rank
        )
    except ValueError as err:
        raise ModelError(f"--feature-mix {','.join(args.feature_mix)}: {err}") from None
    if state is not None:
        try:
            mixer.load_state_dict(state["feature_mix"][rank])
        except ValueError as err:
            raise CheckpointError(f"--resume {args.resume}: {err}") from None
    return mixer


def step_forward(model: nn.Module, mixer: FeatureSaliencyMix | None) -> Forward:
    """``(images, targets) -> (logits, targets)``: the mixer, or the model and the targets.

    A layer the mixer cannot mix (not feature maps, run twice or not at all) ends the run with
    a ModelError naming ``--feature-mix``.
    """
    if mixer is None:
        return lambda images, targets: (model(images), targets)

    def mixed(images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            return mixer(images, targets)
        except FeatureMixError as err:
            raise ModelError(f"--feature-mix {','.join(mixer.layers)}: {err}") from None

    return mixed


def begin_epoch(mixer: FeatureSaliencyMix | None, epoch: int) -> None:
    """Switch feature mixing off from ``--mixup-off-epoch`` on."""
    if mixer is not None:
        off = mixer.options.mix_off_epoch
        mixer.enabled = off is None or epoch < off


def feature_mix_state(mixer: FeatureSaliencyMix | None, world: int) -> dict[str, Any]:
    """Every rank's mixer state for the checkpoint (all ranks call it), or nothing."""
    if mixer is None:
        return {}
    states: list[Any] = [None] * world
    if world > 1:
        dist.all_gather_object(states, mixer.state_dict())
    else:
        states = [mixer.state_dict()]
    return {"feature_mix": states}
