"""Command-line flags of the mixing options, built from ``MixConfig``'s table (timm's names).

The flags, their defaults and their help come from :class:`~dali_saliencymix.options.MixConfig`
(each field's ``flag``): this module only turns that table into argparse arguments and back.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence

from dali_saliencymix.options import FEATURE_SALIENCY, MixConfig, OptionError, option_fields

# Flags that also answer to a second name.
ALIASES = {"--cutmix-placement": ("--placement",)}


def flag_of(field: str) -> str:
    """The command-line flag of a MixConfig field (the field's name when it has none)."""
    for f in option_fields():
        if f.name == field:
            return f.metadata["flag"] or field
    return field


def option_message(err: OptionError) -> str:
    """An option error in the words of the command line: its flags instead of its fields."""
    return err.render(flag_of)


def dest_of(flag: str) -> str:
    """The argparse attribute of a flag."""
    return flag.removeprefix("--").replace("-", "_")


def add_mix_arguments(
    parser: argparse.ArgumentParser,
    *,
    only: Sequence[str] | None = None,
    training: bool = False,
) -> None:
    """Add the mixing flags to a parser, with MixConfig's defaults.

    ``--num-classes`` defaults to the number of classes found; ``--mixup-off-epoch`` is offered
    with `training` (0: never switch off, as timm); `only` limits the flags to these fields.
    """
    defaults = MixConfig()
    group = parser.add_argument_group("mixing (timm's flags; defaults: SaliencyMix)")
    for f in option_fields():
        flag = f.metadata["flag"]
        if flag is None or (only is not None and f.name not in only and f.name != "num_classes"):
            continue
        if f.name == "mix_off_epoch" and not training:
            continue
        kwargs = dict(f.metadata["argparse"])
        if f.name == "num_classes":
            default, shown = None, "the number of classes found"
            kwargs["type"] = int_at_least(1)
        elif f.name == "mix_off_epoch":
            default, shown = 0, "0 (0 = never switch off, as timm)"
        else:
            default = getattr(defaults, f.name)
            shown = "%(default)s"
        group.add_argument(
            flag,
            *ALIASES.get(flag, ()),
            dest=dest_of(flag),
            default=default,
            help=f"{f.metadata['help']} (default: {shown})",
            **kwargs,
        )


def mix_config_from_args(args: argparse.Namespace, num_classes: int, who: str) -> MixConfig:
    """The MixConfig of the flags of :func:`add_mix_arguments` (`num_classes`: the default).

    As timm, mixing is on when ``--mixup`` or ``--cutmix`` is > 0 or ``--cutmix-minmax`` is
    given; otherwise the targets are the (smoothed) one-hot labels. Flags a parser did not get
    keep MixConfig's defaults.

    Raises:
        OptionError: said by `who`; :func:`option_message` words it with the flags.

    """
    given = {}
    for f in option_fields():
        flag = f.metadata["flag"]
        if flag is not None and hasattr(args, dest_of(flag)):
            given[f.name] = getattr(args, dest_of(flag))
    given["num_classes"] = given.get("num_classes") or num_classes
    if given.get("cutmix_minmax") is not None:
        given["cutmix_minmax"] = tuple(given["cutmix_minmax"])
    defaults = MixConfig()
    active = (
        given.get("mixup_alpha", defaults.mixup_alpha) > 0
        or given.get("cutmix_alpha", defaults.cutmix_alpha) > 0
        or given.get("cutmix_minmax") is not None
    )
    given["mix_off_epoch"] = given.get("mix_off_epoch") or None  # timm: 0 = never off
    try:
        return MixConfig(enabled=active, **given)
    except OptionError as err:
        raise err.named(who) from None


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= `minimum`, with a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    return parse


def number_at_least(minimum: float, *, strictly: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number >= `minimum` (> with `strictly`); NaN and inf refused."""
    relation = ">" if strictly else ">="

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < minimum or (strictly and value == minimum):
            raise argparse.ArgumentTypeError(
                f"expected a finite number {relation} {minimum:g}, got {text}"
            )
        return value

    return parse


def layer_list(text: str) -> list[str]:
    """An argparse type: layer names separated by commas (``layer1,layer2``)."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected layer names separated by commas, got {text!r}")
    return names


def add_feature_mix_arguments(parser: argparse.ArgumentParser, *, training: bool) -> None:
    """``--feature-mix`` and ``--feature-saliency``: SaliencyMix on a model's feature maps.

    `training`: the trainer mixes inside the model (the mixing flags then configure it);
    otherwise (the preview) the boxes it would use are drawn.
    """
    group = parser.add_argument_group("feature mixing (SaliencyMix inside the model)")
    what = (
        "mix the output of one of these layers per step (e.g. layer1,layer2,layer3 of a "
        "ResNet) instead of the images; the mixing flags then configure it (CutMix only)"
        if training
        else "draw the boxes SaliencyMix on feature maps chooses at each of these layers of the "
        "model (e.g. layer2 of the untrained ResNet-18), instead of the image mixing"
    )
    group.add_argument(
        "--feature-mix", type=layer_list, default=None, metavar="LAYER[,LAYER...]", help=what
    )
    group.add_argument(
        "--feature-saliency",
        choices=FEATURE_SALIENCY,
        default="mean_abs",
        help="the map whose peak centres the box: mean |F|, L2 norm or max over channels "
        "(default: %(default)s)",
    )
