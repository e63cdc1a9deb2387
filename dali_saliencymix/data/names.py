r"""File names are any bytes: their printable form, and lines of lists that keep them exact.

On Linux a file name is bytes; Python decodes the bytes that are not UTF-8 as surrogate escapes
(``b"\xe9"`` -> ``"\udce9"``), which cannot be printed or encoded as UTF-8. The package's
lists are written and read with :data:`LIST_ERRORS`, so each name keeps its own bytes (DALI
opens the file by them); messages and console output use :func:`printable`. A field of a
tab-separated list line (``excluded.txt``) is escaped with :func:`escape_field`, so that a
newline or a tab in a name cannot split the line.
"""

from __future__ import annotations

# Text files that hold file names: UTF-8, other bytes kept as they are (surrogate escapes).
LIST_ENCODING = "utf-8"
LIST_ERRORS = "surrogateescape"

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def printable(text: object) -> str:
    r"""`text` (a str, a path, an error) with bytes that are not UTF-8 written as ``\xNN``."""
    text = str(text)
    try:
        return text.encode(LIST_ENCODING, LIST_ERRORS).decode(LIST_ENCODING, "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no file name decoded to
        return text.encode(LIST_ENCODING, "backslashreplace").decode(LIST_ENCODING)


def escape_field(name: str) -> str:
    """A name as one field of a tab-separated line: backslash, newline, CR and tab escaped."""
    return "".join(_ESCAPES.get(c, c) for c in name)


def unescape_field(field: str) -> str:
    """The name that :func:`escape_field` wrote as `field`."""
    out: list[str] = []
    chars = iter(field)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            out.append(_UNESCAPES.get(nxt, "\\" + nxt))
        else:
            out.append(c)
    return "".join(out)
