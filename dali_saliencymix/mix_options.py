"""The SaliencyMix options: one object, checked once, used by every entry point.

``MixConfig`` is built by the DALI wrapper (``dali_saliencymix.saliency_mix``), the PyTorch path
(``dali_saliencymix.torch.saliency_mix``), the pipeline factory, the CLI and the trainer; its
``check`` is the only place the option ranges are written in Python, and ``add_arguments`` /
``from_args`` are the only place the command-line flags are.
"""

from __future__ import annotations

import argparse
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import InitVar, dataclass

MODES = ("elem", "batch", "pair")
BOXES = ("saliency", "random")
PAIRINGS = ("permutation", "reverse")
PLACEMENTS = ("source_peak", "target_background")
LABEL_WEIGHTS = ("area", "saliency")
# Class ids and the label length travel as int32 through DALI and the C API.
MAX_CLASSES = 2**31 - 1


def as_num_classes(value: object, what: str = "saliency_mix: num_classes") -> int:
    """``value`` as a Python int in [1, 2^31 - 1]; numpy integers are accepted, bools are not."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an integer >= 1, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{what} must be an integer >= 1, got {value!r}") from None
    if not 1 <= number <= MAX_CLASSES:
        raise ValueError(
            f"{what} must be an integer >= 1 (and at most 2**31 - 1: int32), got {number}"
        )
    return number


def _as_float(value: object, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"saliency_mix: {name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"saliency_mix: {name} must be finite, got {value!r}")
    return number


def _pair(value: object) -> tuple[object, object]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(f"saliency_mix: cutmix_minmax must be two numbers, got {value!r}")
    return value[0], value[1]


def _choice(config: MixConfig, name: str, allowed: tuple[str, ...]) -> None:
    value = getattr(config, name)
    if value not in allowed:
        names = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"saliency_mix: {name} must be one of {names}, got {value!r}")


@dataclass
class MixConfig:
    """Mixing options with timm's ``Mixup`` names and meanings, plus the box and the pairing.

    The defaults are SaliencyMix as in the paper (CutMix only, saliency-centred boxes, each
    sample its own draw); ``mixup_alpha > 0`` adds MixUp, as timm does.

    Attributes:
        num_classes: length of the soft labels.
        mixup_alpha: MixUp's lam ~ Beta(mixup_alpha, mixup_alpha); 0 = no MixUp.
        cutmix_alpha: CutMix's lam ~ Beta(cutmix_alpha, cutmix_alpha); 0 = no CutMix. With both
            alphas > 0, each mixing event is CutMix with probability ``switch_prob``.
        cutmix_minmax: timm's box-ratio range (min, max) of the image side: the box size is
            drawn from it (and ``cutmix_alpha`` is forced to 1, as timm does); None: from lam.
        prob: probability of mixing a sample (elem, pair) or the batch (batch), in [0, 1].
        switch_prob: probability of CutMix rather than MixUp when both alphas are > 0.
        mode: ``"elem"``: each sample its own draw; ``"pair"``: sample i and its partner share
            one draw (needs ``pairing="reverse"``); ``"batch"``: sample 0's draw for all.
        correct_lam: CutMix's lam = 1 - clipped box area / image area (else the sampled lam).
        label_smoothing: timm's label smoothing, in [0, 1), applied before mixing.
        box: ``"saliency"``: the CutMix box is centred on the source's saliency peak
            (SaliencyMix); ``"random"``: its place is drawn uniformly (timm's ``rand_bbox``).
        pairing: ``"permutation"``: sample i mixes with sample perm[i] of a random permutation;
            ``"reverse"``: with sample N-1-i (timm's pairing).
        placement: where a CutMix patch goes in the target: ``"source_peak"`` (the paper: the
            same place as in the source) or ``"target_background"`` (the place, on a fixed grid,
            that covers the least of the target's saliency; docs/algorithm.md).
        label_weights: CutMix's target weight: ``"area"`` (1 - box area / image area) or
            ``"saliency"`` (the target's saliency left visible over that plus the source's
            saliency pasted; area when both are 0).
        enabled: False gives one-hot (smoothed) targets without mixing (pipeline factory).
        mix_off_epoch: no mixing from this epoch on (epochs count from 0; 0 = never mix; None =
            always mix) (pipeline factory and trainer).
        alpha: the former name of ``cutmix_alpha`` (still accepted).

    """

    num_classes: int = 1000
    mixup_alpha: float = 0.0
    cutmix_alpha: float = 1.0
    cutmix_minmax: tuple[float, float] | None = None
    prob: float = 1.0
    switch_prob: float = 0.5
    mode: str = "elem"
    correct_lam: bool = True
    label_smoothing: float = 0.0
    box: str = "saliency"
    pairing: str = "permutation"
    placement: str = "source_peak"
    label_weights: str = "area"
    enabled: bool = True
    mix_off_epoch: int | None = None
    alpha: InitVar[float | None] = None

    def __post_init__(self, alpha: float | None) -> None:
        if alpha is not None:
            self.cutmix_alpha = alpha
        self.check()

    def check(self) -> None:
        """Normalise the types (numpy scalars); raise ValueError naming a bad option."""
        self.num_classes = as_num_classes(self.num_classes)
        for name in ("mixup_alpha", "cutmix_alpha"):
            value = _as_float(getattr(self, name), name)
            if value < 0:
                raise ValueError(f"saliency_mix: {name} must be >= 0 (0 = off), got {value!r}")
            setattr(self, name, value)
        if self.cutmix_minmax is not None:
            low, high = (_as_float(v, "cutmix_minmax") for v in _pair(self.cutmix_minmax))
            if not 0.0 < low < high <= 1.0:
                raise ValueError(
                    "saliency_mix: cutmix_minmax must be (min, max) with 0 < min < max <= 1 "
                    f"(box sides as fractions of the image's), got {self.cutmix_minmax!r}"
                )
            self.cutmix_minmax = (low, high)
            self.cutmix_alpha = 1.0  # as timm: the box comes from the range, lam is corrected
        if not (self.mixup_alpha > 0 or self.cutmix_alpha > 0):
            raise ValueError(
                "saliency_mix: mixup_alpha or cutmix_alpha must be > 0 (or give "
                "cutmix_minmax); to train without mixing, use enabled=False"
            )
        for name in ("prob", "switch_prob"):
            value = _as_float(getattr(self, name), name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"saliency_mix: {name} must be in [0, 1], got {value!r}")
            setattr(self, name, value)
        _choice(self, "mode", MODES)
        _choice(self, "box", BOXES)
        _choice(self, "pairing", PAIRINGS)
        _choice(self, "placement", PLACEMENTS)
        _choice(self, "label_weights", LABEL_WEIGHTS)
        if self.mode == "pair" and self.pairing != "reverse":
            raise ValueError(
                "saliency_mix: mode='pair' mixes each pair of samples (i, N-1-i) both ways with "
                "one draw, so it needs pairing='reverse' (as timm), got pairing="
                f"{self.pairing!r}"
            )
        self.label_smoothing = _as_float(self.label_smoothing, "label_smoothing")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(
                f"saliency_mix: label_smoothing must be in [0, 1), got {self.label_smoothing!r}"
            )
        self.correct_lam = bool(self.correct_lam)
        self.enabled = bool(self.enabled)
        if self.mix_off_epoch is not None:
            try:
                self.mix_off_epoch = operator.index(self.mix_off_epoch)
            except TypeError:
                raise ValueError(
                    f"saliency_mix: mix_off_epoch must be an integer or None, got "
                    f"{self.mix_off_epoch!r}"
                ) from None
            if self.mix_off_epoch < 0:
                raise ValueError(
                    f"saliency_mix: mix_off_epoch must be >= 0, got {self.mix_off_epoch}"
                )

    @property
    def uses_mixup(self) -> bool:
        """Whether some mixing events are MixUp."""
        return self.mixup_alpha > 0 and (self.cutmix_alpha == 0 or self.switch_prob < 1)

    @property
    def uses_cutmix(self) -> bool:
        """Whether some mixing events are CutMix."""
        return self.cutmix_alpha > 0 and (self.mixup_alpha == 0 or self.switch_prob > 0)

    def op_kwargs(self) -> dict[str, object]:
        """The per-batch options, as keyword arguments of ``dali_saliencymix.mix``."""
        return {
            "num_classes": self.num_classes,
            "mixup_alpha": self.mixup_alpha,
            "cutmix_alpha": self.cutmix_alpha,
            "cutmix_minmax": self.cutmix_minmax,
            "prob": self.prob,
            "switch_prob": self.switch_prob,
            "mode": self.mode,
            "correct_lam": self.correct_lam,
            "label_smoothing": self.label_smoothing,
            "box": self.box,
            "pairing": self.pairing,
            "placement": self.placement,
            "label_weights": self.label_weights,
        }

    @classmethod
    def timm_defaults(cls, num_classes: int = 1000) -> MixConfig:
        """The defaults of timm's ``Mixup`` (mode batch, smoothing 0.1, reverse pairing)."""
        return cls(
            num_classes=num_classes,
            mode="batch",
            label_smoothing=0.1,
            pairing="reverse",
        )

    @staticmethod
    def add_arguments(
        parser: argparse.ArgumentParser,
        *,
        training: bool = False,
        defaults: MixConfig | None = None,
        only: Sequence[str] | None = None,
    ) -> None:
        """Add the mixing flags (timm's train.py names, ``FLAGS``) to a parser.

        ``training`` gives timm's defaults (no mixing unless ``--mixup`` or ``--cutmix`` is
        given, mode batch, smoothing 0.1) and ``--mixup-off-epoch``; otherwise the defaults are
        `defaults` (SaliencyMix's, ``MixConfig()``, when None). `only` limits the flags to
        these fields (e.g. for a command that ignores the others).
        """
        d = defaults or (MixConfig.timm_defaults() if training else MixConfig())
        group = parser.add_argument_group("mixing (timm's flags)")
        group.add_argument(
            "--num-classes",
            type=int_at_least(1),
            default=None,
            help="length of the soft labels (default: the number of classes found)",
        )
        for flag in FLAGS:
            if (only is not None and flag.field not in only) or (
                flag.field == "mix_off_epoch" and not training
            ):
                continue
            if flag.field in ("mixup_alpha", "cutmix_alpha") and training:
                default: object = 0.0  # timm: no mixing unless asked for
            elif flag.field == "mix_off_epoch":
                default = 0
            else:
                default = getattr(d, flag.field)
            group.add_argument(
                *flag.names,
                dest=flag.dest,
                default=default,
                help=f"{flag.help} (default: %(default)s)",
                **flag.kwargs,
            )

    @classmethod
    def from_args(cls, args: argparse.Namespace, num_classes: int) -> MixConfig:
        """The config from the flags of ``add_arguments`` (``num_classes``: the default).

        As timm, mixing is on when ``--mixup`` or ``--cutmix`` is > 0 or ``--cutmix-minmax`` is
        given; otherwise the targets are the (smoothed) one-hot labels. Flags a parser did not
        get keep the defaults. Out-of-range values raise ValueError naming the flag.
        """
        given = {f.field: getattr(args, f.dest) for f in FLAGS if hasattr(args, f.dest)}
        active = (
            given.get("mixup_alpha", 0.0) > 0
            or given.get("cutmix_alpha", 0.0) > 0
            or given.get("cutmix_minmax") is not None
        )
        if given.get("cutmix_minmax") is not None:
            given["cutmix_minmax"] = tuple(given["cutmix_minmax"])
        if not active:
            given["cutmix_alpha"] = 1.0  # a valid config; mixing is off (enabled=False)
        given["mix_off_epoch"] = given.get("mix_off_epoch") or None  # timm: 0 = never off
        try:
            return cls(num_classes=args.num_classes or num_classes, enabled=active, **given)
        except ValueError as err:
            raise ValueError(_name_flags(str(err))) from None


@dataclass(frozen=True)
class Flag:
    """One command-line flag of a MixConfig field."""

    field: str
    names: tuple[str, ...]
    help: str
    kwargs: dict[str, object]

    @property
    def dest(self) -> str:
        """The argparse attribute of the flag."""
        return self.names[0].removeprefix("--").replace("-", "_")


FLAGS = (
    Flag("mixup_alpha", ("--mixup",), "MixUp alpha; 0 = no MixUp", {"type": float}),
    Flag("cutmix_alpha", ("--cutmix",), "CutMix alpha; 0 = no CutMix", {"type": float}),
    Flag(
        "cutmix_minmax",
        ("--cutmix-minmax",),
        "CutMix box sides drawn from this fraction range of the image's (timm's "
        "cutmix_minmax; overrides the box size from lam)",
        {"type": float, "nargs": 2, "metavar": ("MIN", "MAX")},
    ),
    Flag(
        "prob",
        ("--mixup-prob",),
        "probability of mixing a sample or batch",
        {"type": float},
    ),
    Flag(
        "switch_prob",
        ("--mixup-switch-prob",),
        "probability of CutMix rather than MixUp when both are on",
        {"type": float},
    ),
    Flag(
        "mode",
        ("--mixup-mode",),
        "one draw per sample (elem), per pair i, N-1-i (pair) or per batch (batch)",
        {"choices": MODES},
    ),
    Flag(
        "label_smoothing",
        ("--smoothing",),
        "label smoothing, applied before mixing",
        {"type": float},
    ),
    Flag(
        "box",
        ("--cutmix-box",),
        "centre the CutMix box on the source's saliency peak (saliency: SaliencyMix) or draw "
        "its place uniformly (random: timm's CutMix)",
        {"choices": BOXES},
    ),
    Flag(
        "pairing",
        ("--mixup-pairing",),
        "sample i mixes with N-1-i (reverse, as timm) or with a random partner (permutation)",
        {"choices": PAIRINGS},
    ),
    Flag(
        "placement",
        ("--cutmix-placement", "--placement"),
        "paste the CutMix patch where it was (source_peak, the paper) or where it covers the "
        "least of the target's saliency (target_background)",
        {"choices": PLACEMENTS},
    ),
    Flag(
        "label_weights",
        ("--label-weights",),
        "CutMix's label weights by box area (area) or by the saliency each image keeps (saliency)",
        {"choices": LABEL_WEIGHTS},
    ),
    Flag(
        "mix_off_epoch",
        ("--mixup-off-epoch",),
        "no mixing from this epoch on (epochs count from 0); 0 = never switch off, as timm",
        {"type": int},
    ),
)


def _name_flags(message: str) -> str:
    """A MixConfig error in the words of the command line: its flags instead of its fields."""
    for flag in FLAGS:
        message = message.replace(f"saliency_mix: {flag.field} ", f"{flag.names[0]} ")
        message = message.replace(f"{flag.field}=", f"{flag.names[0]} ")
    return message.replace("'reverse'", "reverse").replace("'permutation'", "permutation")


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
