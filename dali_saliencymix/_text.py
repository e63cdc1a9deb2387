"""Words in messages: counts ("1 file", "2 files") and the names of types."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for exactly one (`plural` defaults to noun + "s")."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def type_name(value: object) -> str:
    """The module-qualified name of `value`'s type, as a message shows it: ``numpy.ndarray``."""
    return f"{type(value).__module__}.{type(value).__qualname__}"
