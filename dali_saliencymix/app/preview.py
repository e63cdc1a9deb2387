"""The preview: a batch mixed by MixUp, CutMix and SaliencyMix, drawn side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from nvidia.dali import fn, pipeline_def

from dali_saliencymix.app.pictures import MixedBatch, mix_sheet
from dali_saliencymix.data.folder import ImageFolder, scan_image_folder
from dali_saliencymix.numpy import saliency_map
from dali_saliencymix.ops import mix as mix_step
from dali_saliencymix.options import MixConfig
from dali_saliencymix.pipeline.decode import decode
from dali_saliencymix.pipeline.factories import DataPipeline
from dali_saliencymix.pipeline.read import read_files


def to_numpy(batch: object) -> list[np.ndarray]:
    """Samples of a DALI TensorList (CPU or GPU) as numpy arrays."""
    if hasattr(batch, "as_cpu"):
        batch = batch.as_cpu()
    return [np.array(batch[i]) for i in range(len(batch))]


def preview_kinds(mix: MixConfig) -> dict[str, MixConfig]:
    """The kinds of mixing a preview shows: MixUp, CutMix (random box), SaliencyMix.

    From one configuration (alphas, smoothing, box range, placement, label weights); every
    sample is mixed, and every kind pairs sample i with the same source, N-1-i (no sample is its
    own source in an even batch).
    """
    alpha = mix.cutmix_alpha or 1.0
    common = {
        "num_classes": mix.num_classes,
        "prob": 1.0,
        "mode": "elem",
        "pairing": "reverse",
        "label_smoothing": mix.label_smoothing,
    }
    cut = {**common, "cutmix_alpha": alpha, "cutmix_minmax": mix.cutmix_minmax}
    salient = ["SaliencyMix"]
    if mix.placement == "target_background":
        salient.append("background" if mix.label_weights == "area" else "bg")
    if mix.label_weights == "saliency":
        salient.append("saliency weights")
    return {
        "MixUp": MixConfig(**common, mixup_alpha=mix.mixup_alpha or alpha, cutmix_alpha=0.0),
        "CutMix": MixConfig(**cut, box="random"),
        ", ".join(salient): MixConfig(
            **cut, box="saliency", placement=mix.placement, label_weights=mix.label_weights
        ),
    }


def preview_pipeline(
    dataset: ImageFolder,
    batch_size: int,
    device_id: int | None,
    size: int,
    mix: MixConfig,
    seed: int,
) -> DataPipeline:
    """read_files -> decode with random crop -> resize -> each kind of ``preview_kinds``.

    Outputs: images, labels, then per kind the mixed images, the boxes in the source and in
    the target (the same unless ``placement="target_background"``), target weights, sources.
    """
    gpu = device_id is not None

    @pipeline_def(batch_size=batch_size, num_threads=2, device_id=device_id, seed=seed)
    def pipe():  # noqa: ANN202
        encoded, labels = read_files(dataset, shuffle=True, seed=seed)
        images = decode(encoded, device="mixed" if gpu else "cpu", random_area=(0.35, 1.0))
        images = fn.resize(images, resize_x=size, resize_y=size)
        outputs = [images, labels]
        for config in preview_kinds(mix).values():
            mixed, _, boxes, lams, sources, *dest = mix_step(
                images, labels, config, seed=seed, return_info=True
            )
            outputs += [mixed, boxes, dest[0] if dest else boxes, lams, sources]
        return tuple(outputs)

    p = pipe()
    p.build()
    return DataPipeline(p, dataset)


def write_preview(
    root: Path | ImageFolder,
    out: Path,
    *,
    batch_size: int = 8,
    device_id: int | None = None,
    size: int = 224,
    mix: MixConfig | None = None,
    seed: int = 1,
) -> Path:
    """A grid: per sample, MixUp, CutMix, SaliencyMix, the source and its saliency heat map.

    Boxes are outlined; the captions give the label weights and name the classes by the
    dataset's class map (the ids the reader gives).
    """
    if size < 1 or batch_size < 1:
        raise ValueError(f"preview: size and batch size must be >= 1, got {size}, {batch_size}")
    folder = (
        root
        if isinstance(root, ImageFolder)
        else scan_image_folder(root, mix.num_classes if mix else None)
    )
    mix = mix or MixConfig(num_classes=folder.num_classes)
    outputs = [
        to_numpy(o) for o in preview_pipeline(folder, batch_size, device_id, size, mix, seed).run()
    ]
    images, labels = outputs[0], outputs[1]
    kinds = {
        name: MixedBatch(
            images=outputs[2 + 5 * k],
            boxes=outputs[3 + 5 * k],
            dest_boxes=outputs[4 + 5 * k],
            lams=[float(v) for v in outputs[5 + 5 * k]],
            sources=[int(v) for v in outputs[6 + 5 * k]],
        )
        for k, name in enumerate(preview_kinds(mix))
    }
    maps = [saliency_map(im)[0] for im in images]
    return mix_sheet(
        images,
        [int(np.asarray(v).reshape(-1)[0]) for v in labels],
        kinds,
        maps,
        folder.classes,
        out,
    )
