"""Checks of the SaliencyMix options, shared by the DALI and the PyTorch entry points."""

from __future__ import annotations

MODES = ("elem", "batch")


def check_mix_options(
    num_classes: int, alpha: float, prob: float, mode: str, label_smoothing: float
) -> None:
    """Raise ValueError naming the option when a SaliencyMix option is out of range."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"saliency_mix: num_classes must be an integer >= 1, got {num_classes!r}")
    if not alpha > 0:
        raise ValueError(f"saliency_mix: alpha must be > 0 (Beta(alpha, alpha)), got {alpha!r}")
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"saliency_mix: prob must be in [0, 1], got {prob!r}")
    if mode not in MODES:
        raise ValueError(f"saliency_mix: mode must be 'elem' or 'batch', got {mode!r}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(
            f"saliency_mix: label_smoothing must be in [0, 1), got {label_smoothing!r}"
        )
