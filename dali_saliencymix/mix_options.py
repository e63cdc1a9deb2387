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
from dataclasses import dataclass

MODES = ("elem", "batch")
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


@dataclass
class MixConfig:
    """SaliencyMix options (timm's names where they mean the same), with sensible defaults.

    Attributes:
        num_classes: length of the soft labels.
        alpha: lam ~ Beta(alpha, alpha) (timm's ``cutmix_alpha``); > 0.
        prob: probability of mixing a sample (``"elem"``) or the batch (``"batch"``), in [0, 1].
        mode: ``"elem"`` (each sample its own flip, lam and box; the paper) or ``"batch"`` (one
            flip, lam and box for the batch, from the source of sample 0; the official code).
        label_smoothing: timm's label smoothing, in [0, 1), applied before mixing.
        correct_lam: lam = 1 - clipped box area / image area (else the sampled lam).
        enabled: False gives one-hot (smoothed) targets without mixing (pipeline factory).
        mix_off_epoch: no mixing from this epoch on (epochs count from 0; 0 = never mix; None =
            always mix), as timm's ``--mixup-off-epoch`` (pipeline factory and trainer).

    """

    num_classes: int = 1000
    alpha: float = 1.0
    prob: float = 1.0
    mode: str = "elem"
    label_smoothing: float = 0.0
    correct_lam: bool = True
    enabled: bool = True
    mix_off_epoch: int | None = None

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Normalise the types (numpy scalars); raise ValueError naming a bad option."""
        self.num_classes = as_num_classes(self.num_classes)
        self.alpha = _as_float(self.alpha, "alpha")
        if not self.alpha > 0:
            raise ValueError(
                f"saliency_mix: alpha must be > 0 (lam ~ Beta(alpha, alpha)), got {self.alpha!r}"
            )
        self.prob = _as_float(self.prob, "prob")
        if not 0.0 <= self.prob <= 1.0:
            raise ValueError(f"saliency_mix: prob must be in [0, 1], got {self.prob!r}")
        if self.mode not in MODES:
            raise ValueError(f"saliency_mix: mode must be 'elem' or 'batch', got {self.mode!r}")
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

    def op_kwargs(self) -> dict[str, object]:
        """The per-batch options, as keyword arguments of ``saliency_mix`` (DALI or torch)."""
        return {
            "num_classes": self.num_classes,
            "alpha": self.alpha,
            "prob": self.prob,
            "mode": self.mode,
            "label_smoothing": self.label_smoothing,
            "correct_lam": self.correct_lam,
        }

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser, *, training: bool = False) -> None:
        """Add the SaliencyMix flags to a parser (``training``: also the trainer's flags)."""
        group = parser.add_argument_group("SaliencyMix")
        group.add_argument(
            "--num-classes",
            type=_positive_int,
            default=None,
            help="length of the soft labels (default: the number of classes found)",
        )
        group.add_argument(
            "--mix-alpha",
            "--alpha",
            dest="mix_alpha",
            type=float,
            default=1.0,
            help="lam ~ Beta(alpha, alpha) (default: %(default)s)",
        )
        group.add_argument(
            "--mix-prob",
            "--prob",
            dest="mix_prob",
            type=float,
            default=1.0,
            help="probability of mixing (default: %(default)s)",
        )
        group.add_argument(
            "--mix-mode",
            "--mode",
            dest="mix_mode",
            choices=MODES,
            default="elem",
            help="per sample (elem, the paper) or per batch (batch, the official code)",
        )
        group.add_argument(
            "--smoothing",
            type=float,
            default=0.0,
            help="label smoothing, applied before mixing (default: %(default)s)",
        )
        if training:
            group.add_argument(
                "--no-correct-lam",
                action="store_true",
                help="use the sampled lam, not 1 - clipped box area / image area",
            )
            group.add_argument("--no-mix", action="store_true", help="train without mixing")
            group.add_argument(
                "--mix-off-epoch",
                type=int,
                default=None,
                help="no mixing from this epoch on (as timm's --mixup-off-epoch)",
            )

    @classmethod
    def from_args(cls, args: argparse.Namespace, num_classes: int) -> MixConfig:
        """The config from the flags of ``add_arguments`` (``num_classes``: the default).

        Out-of-range values raise ValueError.
        """
        return cls(
            num_classes=args.num_classes or num_classes,
            alpha=args.mix_alpha,
            prob=args.mix_prob,
            mode=args.mix_mode,
            label_smoothing=args.smoothing,
            correct_lam=not getattr(args, "no_correct_lam", False),
            enabled=not getattr(args, "no_mix", False),
            mix_off_epoch=getattr(args, "mix_off_epoch", None),
        )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value
