"""The demo: the shipped photos through a DALI pipeline with the saliency operator."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nvidia.dali import fn, pipeline_def, types
from nvidia.dali.pipeline import Pipeline

from dali_saliencymix.preview import saliency_sheet
from dali_saliencymix.saliency import fine_grained_saliency

PHOTO_DIR = Path(__file__).resolve().parent / "data" / "photos"


@dataclass
class DemoResult:
    """What the demo produced: the picture, the batches run and the measured throughput."""

    picture: Path
    images: int
    seconds: float
    device: str

    @property
    def images_per_second(self) -> float:
        """Images per second of the timed batches."""
        return self.images / self.seconds


def photo_count(root: Path = PHOTO_DIR) -> int:
    """Number of shipped photos."""
    return len(list(root.glob("*/*.jpg")))


def saliency_pipeline(
    root: Path, batch_size: int, device_id: int | None, size: int, num_threads: int = 2
) -> Pipeline:
    """Reader -> decode -> resize (shorter side `size`) -> saliency map and peak, per image."""
    gpu = device_id is not None

    @pipeline_def(
        batch_size=batch_size, num_threads=num_threads, device_id=device_id, prefetch_queue_depth=1
    )
    def pipe():  # noqa: ANN202
        jpegs, _ = fn.readers.file(file_root=str(root), name="Reader")
        images = fn.decoders.image(jpegs, device="mixed" if gpu else "cpu", output_type=types.RGB)
        images = fn.resize(images, resize_shorter=size)
        maps, peaks = fine_grained_saliency(images, output_peak=True)
        return images, maps, peaks

    return pipe()


def to_numpy(batch: object) -> list[np.ndarray]:
    """Samples of a DALI TensorList (CPU or GPU) as numpy arrays."""
    if hasattr(batch, "as_cpu"):
        batch = batch.as_cpu()
    return [np.array(batch[i]) for i in range(len(batch))]


def run_demo(
    out: Path, device_id: int | None = None, size: int = 224, timed_batches: int = 10
) -> DemoResult:
    """Run the demo: write the saliency sheet of the shipped photos and time the pipeline."""
    n = photo_count()
    pipe = saliency_pipeline(PHOTO_DIR, n, device_id, size)
    pipe.build()
    images, maps, peaks = pipe.run()
    picture = saliency_sheet(
        to_numpy(images), to_numpy(maps), [tuple(int(v) for v in p) for p in to_numpy(peaks)], out
    )
    start = time.perf_counter()
    for _ in range(timed_batches):
        pipe.run()
    seconds = time.perf_counter() - start
    return DemoResult(picture, n * timed_batches, seconds, "cpu" if device_id is None else "gpu")
