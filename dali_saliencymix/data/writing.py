"""Writing files so that nothing is lost: a temporary name renamed when complete, one writer.

- :func:`atomic_path` gives a hidden temporary name beside the file to write; when the block
  ends without error the data is flushed to disk and renamed over the file (``os.replace``,
  atomic on POSIX file systems), otherwise the temporary file is removed. A kill at any moment
  leaves either the old file or the new one, never a part of it.
- :func:`exclusive_lock` creates a lock file with exclusive creation (``O_CREAT | O_EXCL``)
  holding the writer's process id and host, and removes it at the end: a second writer is
  refused, and a lock left by a killed writer is reported with what to do.

The checkpoints of the trainer, the lists of ``check`` and the shard folders of ``shards`` are
written through these.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from dali_saliencymix.data.names import LIST_ENCODING, LIST_ERRORS


class WriteError(OSError):
    """A file or folder cannot be written; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = path
        self.reason = reason


class LockedError(RuntimeError):
    """Another writer holds the lock, or a killed one left it; the message says what to do."""


def temporary_path(path: str | Path) -> Path:
    """The hidden name a file is written under before it is renamed to `path`."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write `path`'s new content to; renamed to `path` at the end.

    On an error (or Ctrl-C) inside the block the temporary file is removed and `path` is left
    as it was.
    """
    path = Path(path)
    temp = temporary_path(path)
    try:
        yield temp
        with open(temp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8, file names' own bytes kept) to `path` through a temporary file."""
    with atomic_path(path) as temp:
        temp.write_text(text, encoding=LIST_ENCODING, errors=LIST_ERRORS)
    return Path(path)


def check_writable(folder: str | Path) -> Path:
    """Create `folder` if needed and write (then remove) a file in it; raise WriteError if not.

    Done before long work whose result goes there, so that it is not lost at the end.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = temporary_path(folder / "write-test")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise WriteError(folder, err.strerror or str(err)) from None
    return folder


@contextlib.contextmanager
def exclusive_lock(lock: str | Path, what: str, stale_hint: str) -> Iterator[Path]:
    """Hold `lock` (created exclusively, removed at the end) while writing `what`.

    Raises:
        LockedError: the lock exists: another process is writing `what`, or one that was
            killed left the lock (then the message ends with `stale_hint`, what to do).

    """
    lock = Path(lock)
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise LockedError(lock_message(lock, what, stale_hint)) from None
    with os.fdopen(fd, "w") as f:
        f.write(f"{os.getpid()} {socket.gethostname()}\n")
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def lock_message(lock: Path, what: str, stale_hint: str) -> str:
    """Who holds `lock` (a running writer, or a killed one) and what to do."""
    pid, host = lock_owner(lock)
    if pid is None:
        return f"{what} is being written by another process ({lock} exists); wait for it to end"
    if host != socket.gethostname():
        return (
            f"{what} is being written by process {pid} on {host} ({lock}); if that run has "
            f"ended, {stale_hint}"
        )
    if _running(pid):
        return (
            f"{what} is being written by process {pid} ({lock}): wait for it to end, or "
            "write elsewhere"
        )
    return (
        f"{lock} was left by process {pid}, which is no longer running (its writing of {what} "
        f"was interrupted): {stale_hint}"
    )


def lock_owner(lock: Path) -> tuple[int | None, str]:
    """(process id, host) written in a lock file; (None, "") when unreadable or empty."""
    try:
        fields = lock.read_text(errors="replace").split()
        return int(fields[0]), fields[1] if len(fields) > 1 else ""
    except (OSError, ValueError, IndexError):
        return None, ""


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk, where the system allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
