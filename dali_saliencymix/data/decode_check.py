"""Find the files that DALI cannot read or decode, before training; name them when it fails.

:func:`check_dataset` (the ``dali-saliencymix check DATA_DIR`` command) decodes every file of
the dataset with DALI's own CPU image decoder (``fn.decoders.image``, the decoder the CPU
training pipeline uses, full image), in batches on all cores, and writes a clean file list plus
the list of what it excluded and why (see :func:`dali_saliencymix.data.check_lists.write_lists`). A
batch that fails is decoded again file by file to find the culprits; the reason is DALI's error
with the decoder's own message (captured from its log), or Pillow's view of the file when the
decoder gives none.

:func:`explain_failure` turns a DALI error raised mid-epoch into a message naming the file: DALI
names it for read errors (``File mapping failed: PATH``) and for decode errors (``Failed to decode
sample #k : PATH``), not for files whose format it does not recognise (``nvImageCodec failure:
'#3'`` / ``'#4'``); those are found by decoding the dataset's files again (small datasets) or the
message says to run the check.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from dali_saliencymix.data.check_lists import check_dir, write_lists
from dali_saliencymix.data.folder import BadFile, ImageFolder, scan_image_folder
from dali_saliencymix.data.writing import check_writable

# Files per batch and decoding thread: enough to keep every thread busy, little memory.
BATCH_PER_THREAD = 8
# Mid-epoch errors that DALI does not name are located by decoding the shard again when it has
# at most this many files (about a minute on two cores).
LOCATE_LIMIT = 20_000
# nvImageCodec status codes (nvimgcodecStatus_t) that DALI reports as "nvImageCodec failure: '#N'".
NVIMGCODEC_STATUS = {
    3: "bad code stream",
    4: "unsupported format",
    13: "bad code stream",
    14: "unsupported format",
    17: "decoder error",
    19: "incomplete bitstream",
}
_DALI_FORMATS = {"JPEG", "PNG", "BMP", "TIFF", "WEBP", "JPEG2000", "PPM"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
DECODE_FAILED = re.compile(r"Failed to decode sample #(\d+) : ?(.*)")
MAP_FAILED = re.compile(r"File mapping failed: (.*)")
NVIMGCODEC = re.compile(r"nvImageCodec failure: '#(\d+)'")
T = TypeVar("T")


class DataError(RuntimeError):
    """DALI could not read or decode a file of the dataset; the message names it (or says how)."""


@dataclass
class CheckReport:
    """What ``check_dataset`` found and wrote."""

    folder: ImageFolder
    bad: list[BadFile]
    seconds: float
    num_threads: int
    lists: dict[str, Path] = field(default_factory=dict)

    @property
    def num_checked(self) -> int:
        """Files decoded (the scan's files) plus the files the scan rejected."""
        return self.folder.num_files + len(self.folder.rejected)

    @property
    def files_per_second(self) -> float:
        """Decoding throughput of the whole check (scan included)."""
        return self.num_checked / max(self.seconds, 1e-9)


def default_threads() -> int:
    """The CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def decode_failures(
    paths: Sequence[str | Path],
    *,
    num_threads: int | None = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[BadFile]:
    """The files among `paths` that DALI's CPU image decoder cannot read or decode, and why.

    Files are read in a background thread and decoded in batches by a DALI pipeline with
    `num_threads` threads (default: every core); a failing batch is decoded again file by file.
    `progress` is called with the number of files done after each batch. While it runs, the
    process's stderr (file descriptor 2) goes to a temporary file, from which the decoder's own
    messages about each bad file are taken.
    """
    items = [Path(p) for p in paths]
    found = undecodable(
        items, _read_all, num_threads=num_threads, batch_size=batch_size, progress=progress
    )
    return sorted((BadFile(path, reason) for path, reason in found), key=lambda b: str(b.path))


def undecodable(
    items: Sequence[T],
    read: Callable[[Sequence[T]], list[tuple[T, np.ndarray | str]]],
    *,
    num_threads: int | None = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[T, str]]:
    """``(item, reason)`` of the items whose encoded bytes DALI's CPU decoder cannot decode.

    `read` turns a batch of items (files, samples of a tar) into ``(item, bytes as uint8 array)``
    pairs, or ``(item, reason)`` for an item that cannot be read. See :func:`decode_failures`.
    """
    threads = num_threads or default_threads()
    batch = batch_size or max(8, BATCH_PER_THREAD * threads)
    chunks = [items[i : i + batch] for i in range(0, len(items), batch)]
    bad: list[tuple[T, str]] = []
    if not chunks:
        return bad
    with _StderrLog() as log, ThreadPoolExecutor(1) as reader:
        decoder = _Decoder(batch, threads)
        pending = reader.submit(read, chunks[0])
        for k in range(len(chunks)):
            loaded = pending.result()
            if k + 1 < len(chunks):
                pending = reader.submit(read, chunks[k + 1])
            good = [(item, data) for item, data in loaded if not isinstance(data, str)]
            bad += [(item, data) for item, data in loaded if isinstance(data, str)]
            if good:
                try:
                    decoder.decode([d for _, d in good])
                except RuntimeError:
                    decoder = _Decoder(batch, threads)
                    for item, data in good:
                        log.read_new()
                        try:
                            decoder.decode([data])
                        except RuntimeError as err:
                            bad.append((item, _reason(str(err), log.read_new(), data)))
                            decoder = _Decoder(batch, threads)
            if progress is not None:
                progress(len(loaded))
    return bad


def check_dataset(
    root: str | Path,
    *,
    out: str | Path | None = None,
    num_threads: int | None = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_scanned: Callable[[ImageFolder], None] | None = None,
) -> CheckReport:
    """Scan `root`, decode every file, write the lists into `out` (default: :func:`check_dir`).

    The scan's rejections (broken links, non-image names or contents) and the decoding failures
    together make the excluded list. `on_scanned` is called with the scan before decoding
    starts (e.g. to size a progress bar).

    Raises:
        DatasetError: `root` cannot be scanned (missing, no class folders).
        WriteError: the lists cannot be written into `out` (checked before decoding).

    """
    start = time.perf_counter()
    folder = scan_image_folder(root, strict=False)
    out = check_writable(out if out is not None else check_dir(root))  # before the long part
    if on_scanned is not None:
        on_scanned(folder)
    threads = num_threads or default_threads()
    failures = decode_failures(
        folder.files, num_threads=threads, batch_size=batch_size, progress=progress
    )
    bad = sorted(folder.rejected + failures, key=lambda b: str(b.path))
    seconds = time.perf_counter() - start
    report = CheckReport(folder, bad, seconds, threads)
    report.lists = write_lists(folder, bad, out)
    return report


def failing_file(message: str) -> str | None:
    """The file that a DALI error message names (read and decode errors), else None."""
    for pattern, group in ((DECODE_FAILED, 2), (MAP_FAILED, 1)):
        match = pattern.search(message)
        if match and match.group(group).strip():
            return match.group(group).strip()
    return None


def dali_cause(message: str) -> str:
    """DALI's own line about what failed, without its traceback and C++ context."""
    match = NVIMGCODEC.search(message)
    if match:
        code = int(match.group(1))
        return f"nvImageCodec: {NVIMGCODEC_STATUS.get(code, 'failure')} (status {code})"
    if MAP_FAILED.search(message):
        return "DALI cannot read (map) the file: missing, empty or unreadable"
    if DECODE_FAILED.search(message):
        return "decoding failed"
    lines = [
        line.strip()
        for line in message.split("encountered:", 1)[-1].splitlines()
        if line.strip() and "C++ context" not in line and "no longer valid" not in line
    ]
    return lines[0] if lines else message.strip()


def explain_failure(err: BaseException, datasets: Sequence[ImageFolder]) -> str | None:
    """A message naming the file behind a DALI error raised while reading `datasets`.

    Returns None when the error is not about reading or decoding a file. When DALI does not
    name the file, the datasets' files are decoded again to find it (at most
    :data:`LOCATE_LIMIT` files; DALI shards a shuffled list, so a rank's files are not known).
    """
    message = str(err)
    if not any(p.search(message) for p in (DECODE_FAILED, MAP_FAILED, NVIMGCODEC)):
        return None
    roots = sorted({str(d.root) for d in datasets}) or ["DATA_DIR"]
    fix = (
        f"remove or replace it, or run `dali-saliencymix check {roots[0]}` and train with "
        "--skip-bad"
    )
    path = failing_file(message)
    if path is not None:
        return f"{path}: {dali_cause(message)}; {fix}"
    files = list(dict.fromkeys(f for d in datasets for f in d.files))
    if len(files) > LOCATE_LIMIT:
        return (
            f"DALI cannot decode a file that it does not name ({dali_cause(message)}); "
            f"`dali-saliencymix check {roots[0]}` finds it (and every other), then train with "
            "--skip-bad"
        )
    found = decode_failures(files)
    if not found:
        return f"DALI failed on a file it does not name ({dali_cause(message)}); {fix}"
    named = "; ".join(f"{b.path}: {b.reason}" for b in found[:5])
    return f"DALI cannot decode {len(found)} file(s) of the dataset: {named}; {fix}"


def _read_all(paths: Sequence[Path]) -> list[tuple[Path, np.ndarray | str]]:
    """Each file's bytes, or the reason it cannot be read (what DALI's reader would fail on)."""
    out: list[tuple[Path, np.ndarray | str]] = []
    for path in paths:
        try:
            data = np.fromfile(path, dtype=np.uint8)
        except OSError as err:
            out.append((path, f"cannot read: {err.strerror or err}"))
            continue
        out.append((path, data if data.size else "empty file (0 bytes)"))
    return out


class _Decoder:
    """A CPU pipeline: encoded bytes fed from Python -> ``fn.decoders.image`` (RGB)."""

    def __init__(self, batch_size: int, num_threads: int) -> None:
        from nvidia.dali import fn, pipeline_def, types

        @pipeline_def(
            batch_size=batch_size,
            num_threads=num_threads,
            device_id=None,
            prefetch_queue_depth=1,
            seed=0,
        )
        def pipe():  # noqa: ANN202
            encoded = fn.external_source(name="encoded", dtype=types.UINT8, ndim=1)
            return fn.decoders.image(encoded, device="cpu", output_type=types.RGB)

        self.pipe = pipe()
        self.pipe.build()

    def decode(self, encoded: list[np.ndarray]) -> None:
        """Decode one batch; raises DALI's RuntimeError when a file fails."""
        self.pipe.feed_input("encoded", encoded)
        self.pipe.run()


def _reason(message: str, log: str, data: np.ndarray) -> str:
    """DALI's cause, with the decoder's own messages (or Pillow's view) as the detail."""
    details = []
    for line in _ANSI.sub("", log).splitlines():
        line = line.replace("[ERROR]", "").replace("[WARNING]", "").strip()
        if line and line not in details:
            details.append(line)
    if not details:
        details.append(_pillow_view(data))
    return f"{dali_cause(message)} ({'; '.join(details[:3])})"


def _pillow_view(data: np.ndarray) -> str:
    """What Pillow makes of encoded bytes (only for files that DALI's decoder rejects silently)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data.tobytes())) as image:
            kind = image.format
            image.load()
    except Image.UnidentifiedImageError:
        return "Pillow: cannot identify image file (no format it knows)"
    except Exception as err:  # noqa: BLE001 - any failure is the answer
        return f"Pillow: {type(err).__name__}: {err}"
    if kind not in _DALI_FORMATS:
        return f"Pillow reads it as {kind}, a format DALI does not decode"
    return f"Pillow decodes it as {kind}"


class _StderrLog:
    """Send file descriptor 2 to a temporary file while active; read what was written since."""

    def __enter__(self) -> _StderrLog:
        sys.stderr.flush()
        fd, self._name = tempfile.mkstemp(prefix="dsm-check-", suffix=".log")
        os.close(fd)
        self._write = os.open(self._name, os.O_WRONLY | os.O_APPEND)
        self._read = open(self._name, "rb")  # closed in __exit__
        self._saved = os.dup(2)
        os.dup2(self._write, 2)
        return self

    def read_new(self) -> str:
        """Text written to stderr since the last call."""
        return self._read.read().decode("utf-8", "replace")

    def __exit__(self, *exc: object) -> None:
        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        os.close(self._write)
        self._read.close()
        os.unlink(self._name)
