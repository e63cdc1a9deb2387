"""The mixing options: one table, checked once, taken by every entry point.

:class:`MixConfig` is the only place the options of the mixing family are written: each field
carries its default, its meaning and its command-line flag. The DALI wrappers
(``dali_saliencymix.mix``), the numpy and torch front ends, the pipeline factories, the command
line (``dali_saliencymix.app.flags`` builds its flags from this table) and the trainer all take
these names with these defaults. :meth:`MixConfig.check` is the only place their ranges are
written; a bad value raises :class:`OptionError`, which names the option in the words of the
caller (a keyword of the function called, or a flag).

The defaults: SaliencyMix (CutMix with the box centred on the source's saliency peak), one draw
per batch, sample i mixed with sample N-1-i, no label smoothing. Presets:
:func:`saliency_mix_options` (the paper's); timm's ``Mixup`` and ``FastCollateMixup`` keep timm's
defaults in the drop-ins (``dali_saliencymix.timm``).
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MODES = ("batch", "pair", "elem")
BOXES = ("saliency", "random")
PAIRINGS = ("reverse", "permutation")
PLACEMENTS = ("source_peak", "target_background")
LABEL_WEIGHTS = ("area", "saliency")
# The maps whose peak centres a box on feature maps (FeatureSaliencyMix's ``saliency``).
FEATURE_SALIENCY = ("mean_abs", "l2", "max")
# Class ids and the label length travel as int32 through DALI and the C API.
MAX_CLASSES = 2**31 - 1


class OptionError(ValueError):
    """A mixing option is out of range: names the option(s) and says what was expected.

    The message is a template whose ``{field}`` placeholders name options; :meth:`render`
    writes them in the caller's words (keywords by default, flags for the command line).
    """

    def __init__(self, template: str, who: str = "MixConfig") -> None:
        self.template = template
        self.who = who
        super().__init__(self.render())

    def render(self, name: Callable[[str], str] = str) -> str:
        """The message with each option written as ``name(field)``, after ``who: ``."""
        names = {f.name: name(f.name) for f in dataclasses.fields(MixConfig)}
        return f"{self.who}: {self.template.format_map(names)}"

    def named(self, who: str) -> OptionError:
        """The same error, said by `who` (the function the user called)."""
        return OptionError(self.template, who)


def _value(value: object) -> str:
    """A value for an OptionError template (braces doubled so that formatting keeps them)."""
    return repr(value).replace("{", "{{").replace("}", "}}")


def _option(default: object, flag: str | None, help: str, **argparse: Any) -> Any:  # noqa: A002
    """A MixConfig field: its default, its flag (None: no flag) and its help text."""
    return dataclasses.field(
        default=default, metadata={"flag": flag, "help": help, "argparse": argparse}
    )


@dataclass
class MixConfig:
    """The options of the mixing family: MixUp, CutMix and SaliencyMix, with timm's names.

    Every entry point takes these names and defaults (``mix``, ``torch.mix``, ``numpy.mix``, the
    pipeline factories, the trainer and the command line). Per option:

    Attributes:
        num_classes: length of the soft labels.
        mixup_alpha: MixUp's lam ~ Beta(mixup_alpha, mixup_alpha); 0 = no MixUp.
        cutmix_alpha: CutMix's lam ~ Beta(cutmix_alpha, cutmix_alpha); 0 = no CutMix. With both
            alphas > 0, each mixing event is CutMix with probability ``switch_prob``.
        cutmix_minmax: timm's box-ratio range (min, max) of the image side: the box sides are
            drawn from it (``cutmix_alpha`` becomes 1 and lam is always corrected, as timm);
            None: the sides come from lam.
        prob: probability of mixing a sample (elem, pair) or the batch (batch), in [0, 1].
        switch_prob: probability of CutMix rather than MixUp when both alphas are > 0.
        mode: ``"batch"``: one draw (coin flip, lam, box) for the batch, sample 0's (timm's
            default, and the SaliencyMix paper's released code, from which its ImageNet numbers
            come: one box from the saliency of one source); ``"pair"``: sample i and N-1-i share
            one draw and are mixed both ways; ``"elem"``: each sample its own draw, its box
            centred on its own source's peak.
        correct_lam: CutMix's lam = 1 - clipped box area / image area (else the sampled lam).
        label_smoothing: timm's label smoothing, in [0, 1), applied before mixing. Leave it 0
            when the loss smooths (it would smooth twice).
        box: ``"saliency"``: the CutMix box is centred on the source's saliency peak
            (SaliencyMix); ``"random"``: its place is drawn uniformly (timm's ``rand_bbox``).
        pairing: ``"reverse"``: sample i mixes with sample N-1-i (timm's); ``"permutation"``:
            with sample perm[i] of a random permutation (the SaliencyMix paper's).
        placement: where a CutMix patch goes in the target: ``"source_peak"`` (where it was in
            the source: the paper's "Salient to Corresponding") or ``"target_background"``
            (where it covers the least of the target's saliency, on a grid: the paper's
            "Salient to Non-Salient", which its ablation, Figure 3 on CIFAR, found to train
            worse than the default).
        label_weights: CutMix's target weight by box area (``"area"``) or by the saliency each
            image keeps (``"saliency"``; the area weight when both masses are 0).
        enabled: False: one-hot targets (smoothed by ``label_smoothing``), nothing mixed (the
            alphas may then both be 0).
        mix_off_epoch: no mixing from this epoch on (epochs count from 0; None: never switch
            off) (pipeline factories and trainer).

    """

    num_classes: int = _option(
        1000, "--num-classes", "length of the soft labels", metavar="N", type=int
    )
    mixup_alpha: float = _option(0.0, "--mixup", "MixUp alpha; 0 = no MixUp", type=float)
    cutmix_alpha: float = _option(1.0, "--cutmix", "CutMix alpha; 0 = no CutMix", type=float)
    cutmix_minmax: tuple[float, float] | None = _option(
        None,
        "--cutmix-minmax",
        "CutMix box sides drawn from this fraction range of the image's (timm's cutmix_minmax)",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
    )
    prob: float = _option(
        1.0, "--mixup-prob", "probability of mixing a sample or batch", type=float
    )
    switch_prob: float = _option(
        0.5,
        "--mixup-switch-prob",
        "probability of CutMix rather than MixUp when both are on",
        type=float,
    )
    mode: str = _option(
        "batch",
        "--mixup-mode",
        "one draw per batch (batch), per pair i, N-1-i (pair) or per sample (elem)",
        choices=MODES,
    )
    correct_lam: bool = _option(True, None, "CutMix's weight from the clipped box area")
    label_smoothing: float = _option(
        0.0, "--smoothing", "label smoothing, applied before mixing", type=float
    )
    box: str = _option(
        "saliency",
        "--cutmix-box",
        "centre the CutMix box on the source's saliency peak (saliency: SaliencyMix) or draw "
        "its place uniformly (random: timm's CutMix)",
        choices=BOXES,
    )
    pairing: str = _option(
        "reverse",
        "--mixup-pairing",
        "sample i mixes with N-1-i (reverse, as timm) or a random partner (permutation)",
        choices=PAIRINGS,
    )
    placement: str = _option(
        "source_peak",
        "--cutmix-placement",
        "paste the CutMix patch where it was (source_peak, the paper's default) or where it "
        "covers the least of the target's saliency (target_background: the paper's Salient to "
        "Non-Salient, which trained worse in its ablation)",
        choices=PLACEMENTS,
    )
    label_weights: str = _option(
        "area",
        "--label-weights",
        "CutMix's label weights by box area (area) or by the saliency each image keeps (saliency)",
        choices=LABEL_WEIGHTS,
    )
    enabled: bool = _option(True, None, "False: one-hot targets, nothing mixed")
    mix_off_epoch: int | None = _option(
        None,
        "--mixup-off-epoch",
        "no mixing from this epoch on (epochs count from 0)",
        type=int,
    )

    def __post_init__(self) -> None:
        self.check()

    def check(self, who: str = "MixConfig") -> MixConfig:
        """Normalise the types (numpy scalars), check the ranges; returns self.

        Raises:
            OptionError: naming the option, said by `who`.

        """
        try:
            self._check()
        except OptionError as err:
            raise err.named(who) from None
        return self

    def _check(self) -> None:
        self.num_classes = as_num_classes(self.num_classes)
        for name in ("mixup_alpha", "cutmix_alpha"):
            value = _as_float(getattr(self, name), name)
            if value < 0:
                raise OptionError(f"{{{name}}} must be >= 0 (0 = off), got {_value(value)}")
            setattr(self, name, value)
        if self.cutmix_minmax is not None:
            self._check_minmax()
        if self.enabled and not (self.mixup_alpha > 0 or self.cutmix_alpha > 0):
            raise OptionError(
                "{mixup_alpha} and {cutmix_alpha} are both 0, so nothing would be mixed: give "
                "one > 0 (for one-hot targets without mixing, use enabled=False)"
            )
        for name in ("prob", "switch_prob"):
            value = _as_float(getattr(self, name), name)
            if not 0.0 <= value <= 1.0:
                raise OptionError(f"{{{name}}} must be in [0, 1], got {_value(value)}")
            setattr(self, name, value)
        for name, allowed in (
            ("mode", MODES),
            ("box", BOXES),
            ("pairing", PAIRINGS),
            ("placement", PLACEMENTS),
            ("label_weights", LABEL_WEIGHTS),
        ):
            if getattr(self, name) not in allowed:
                names = ", ".join(repr(a) for a in allowed)
                raise OptionError(
                    f"{{{name}}} must be one of {names}, got {_value(getattr(self, name))}"
                )
        if self.mode == "pair" and self.pairing != "reverse":
            raise OptionError(
                "{mode} 'pair' mixes each pair of samples (i, N-1-i) both ways with one draw, "
                f"so it needs {{pairing}} 'reverse' (as timm), got {_value(self.pairing)}"
            )
        self.label_smoothing = _as_float(self.label_smoothing, "label_smoothing")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise OptionError(
                f"{{label_smoothing}} must be in [0, 1), got {_value(self.label_smoothing)}"
            )
        self.correct_lam = bool(self.correct_lam)
        self.enabled = bool(self.enabled)
        if self.mix_off_epoch is not None:
            self.mix_off_epoch = _as_int(self.mix_off_epoch, "mix_off_epoch", "or None")
            if self.mix_off_epoch < 0:
                raise OptionError(f"{{mix_off_epoch}} must be >= 0, got {self.mix_off_epoch}")

    def _check_minmax(self) -> None:
        pair = self.cutmix_minmax
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise OptionError(f"{{cutmix_minmax}} must be two numbers, got {_value(pair)}")
        low, high = (_as_float(v, "cutmix_minmax") for v in pair)
        if not 0.0 < low < high <= 1.0:
            raise OptionError(
                "{cutmix_minmax} must be (min, max) with 0 < min < max <= 1 (box sides as "
                f"fractions of the image's), got {_value(pair)}"
            )
        self.cutmix_minmax = (low, high)
        self.cutmix_alpha = 1.0  # as timm: the box comes from the range, lam is corrected

    @property
    def uses_mixup(self) -> bool:
        """Whether some mixing events are MixUp."""
        return self.mixup_alpha > 0 and (self.cutmix_alpha == 0 or self.switch_prob < 1)

    @property
    def uses_cutmix(self) -> bool:
        """Whether some mixing events are CutMix."""
        return self.cutmix_alpha > 0 and (self.mixup_alpha == 0 or self.switch_prob > 0)

    @property
    def uses_box_draws(self) -> bool:
        """Whether the CutMix box needs uniform draws (a random box, or minmax sides)."""
        return self.box == "random" or self.cutmix_minmax is not None

    def replace(self, **changes: Any) -> MixConfig:
        """A copy with some options changed (checked)."""
        return dataclasses.replace(self, **changes)


OPTION_NAMES = tuple(f.name for f in dataclasses.fields(MixConfig))


def option_fields() -> tuple[dataclasses.Field, ...]:
    """The fields of MixConfig, each with ``metadata["flag"]``, ``["help"]``, ``["argparse"]``."""
    return dataclasses.fields(MixConfig)


def resolve_options(
    options: MixConfig | None,
    fields: Mapping[str, Any],
    who: str,
    defaults: Mapping[str, Any] | None = None,
) -> MixConfig:
    """The options of an entry point: ``options``, or a MixConfig of the keyword `fields`.

    `defaults` overrides MixConfig's defaults (a preset). Errors name `who`, the function called:
    TypeError for unknown keywords or both forms at once, OptionError for bad values.
    """
    unknown = sorted(set(fields) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(
            f"{who}: unknown option(s) {', '.join(unknown)}; the options are "
            f"{', '.join(OPTION_NAMES)} (MixConfig)"
        )
    if options is not None:
        if fields:
            raise TypeError(
                f"{who}: give the options either as options=MixConfig(...) or as keywords, not "
                f"both (got options and {', '.join(sorted(fields))})"
            )
        if not isinstance(options, MixConfig):
            raise TypeError(f"{who}: options must be a MixConfig, got {type(options).__name__}")
        return options.check(who)
    try:
        return MixConfig(**{**(defaults or {}), **fields})
    except OptionError as err:
        raise err.named(who) from None


# The SaliencyMix paper's preset: CutMix only, the box on the source's saliency peak, random
# partners, one draw per batch (its released code; see MixConfig.mode).
SALIENCY_MIX_DEFAULTS: dict[str, Any] = {"pairing": "permutation"}
# What the SaliencyMix preset does not let change.
SALIENCY_MIX_FIXED: dict[str, Any] = {"mixup_alpha": 0.0, "box": "saliency"}


def saliency_mix_options(
    options: MixConfig | None,
    fields: Mapping[str, Any],
    who: str,
    alpha: float | None = None,
) -> MixConfig:
    """The SaliencyMix preset's options (see ``saliency_mix``); `alpha` is ``cutmix_alpha``."""
    fields = dict(fields)
    if alpha is not None:
        if "cutmix_alpha" in fields:
            raise TypeError(f"{who}: alpha is the former name of cutmix_alpha: give one of them")
        fields["cutmix_alpha"] = alpha
    fixed = {k: v for k, v in fields.items() if k in SALIENCY_MIX_FIXED}
    if options is not None:
        fixed = {k: getattr(options, k) for k in SALIENCY_MIX_FIXED}
    changed = {k: v for k, v in fixed.items() if v != SALIENCY_MIX_FIXED[k]}
    if changed:
        raise OptionError(
            f"is SaliencyMix (CutMix with saliency boxes), but got "
            f"{', '.join(f'{{{k}}}={_value(v)}' for k, v in changed.items())}: use "
            "dali_saliencymix.mix for MixUp or random boxes",
            who,
        )
    cut = options.cutmix_alpha if options is not None else fields.get("cutmix_alpha", 1.0)
    if isinstance(cut, (int, float)) and not isinstance(cut, bool) and cut <= 0:
        named = "alpha" if alpha is not None else "{cutmix_alpha}"
        raise OptionError(
            f"{named} must be > 0 (SaliencyMix's lam ~ Beta(cutmix_alpha, cutmix_alpha)), got "
            f"{_value(cut)}",
            who,
        )
    defaults = dict(SALIENCY_MIX_DEFAULTS)
    if fields.get("mode") == "pair":
        defaults["pairing"] = "reverse"  # pair mode pairs i with N-1-i
    return resolve_options(options, fields, who, defaults)


def as_num_classes(value: object) -> int:
    """``value`` as a Python int in [1, 2^31 - 1]; numpy integers are accepted, bools are not."""
    number = _as_int(value, "num_classes", ">= 1")
    if not 1 <= number <= MAX_CLASSES:
        raise OptionError(
            f"{{num_classes}} must be an integer >= 1 (and at most 2**31 - 1: int32), got {number}"
        )
    return number


def _as_int(value: object, name: str, expected: str) -> int:
    if isinstance(value, bool):
        raise OptionError(f"{{{name}}} must be an integer {expected}, got {_value(value)}")
    try:
        return operator.index(value)
    except TypeError:
        raise OptionError(
            f"{{{name}}} must be an integer {expected}, got {_value(value)}"
        ) from None


def _as_float(value: object, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OptionError(f"{{{name}}} must be a number, got {_value(value)}") from None
    if not math.isfinite(number):
        raise OptionError(f"{{{name}}} must be finite, got {_value(value)}")
    return number
