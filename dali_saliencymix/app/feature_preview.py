"""The preview of SaliencyMix on feature maps: the boxes a model's activations choose, drawn.

``dali-saliencymix preview DATA_DIR --feature-mix layer2``: a batch is read as the image
preview reads it, through an untrained torchvision ResNet-18 (or the model of a trainer
checkpoint, ``--checkpoint``), and ``FeatureSaliencyMix`` mixes each chosen layer. Per sample and
layer the picture shows the target with its box scaled from the feature map to the image, the
source with the same box, and the source's feature saliency with its peak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from dali_saliencymix.app.pictures import (
    caption,
    grid,
    heat_map,
    mark_peak,
    outline_box,
    weights_text,
)
from dali_saliencymix.app.preview import preview_pipeline, to_numpy
from dali_saliencymix.app.train.models import build_model
from dali_saliencymix.data.folder import ImageFolder
from dali_saliencymix.normalisation import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from dali_saliencymix.options import MixConfig
from dali_saliencymix.torch.feature_boxes import feature_saliency, first_peaks
from dali_saliencymix.torch.feature_mix import (
    FeatureMixInfo,
    FeatureSaliencyMix,
    feature_mix_options,
    find_layer,
)

MEAN, STD = IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD  # as the pipelines normalise


def preview_model(checkpoint: str | Path | None, num_classes: int) -> tuple[nn.Module, str]:
    """An untrained torchvision ResNet-18, or the model of a trainer checkpoint; and its name.

    Raises:
        ValueError: the file is not a checkpoint of the trainer (``train_imagenet.py --save``).
        ModelError: torchvision does not import, or the architecture is unknown.

    """
    if checkpoint is None:
        return build_model("resnet18", num_classes), "untrained ResNet-18"
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        arch, weights = state["args"]["arch"], state["model"]
        classes = len(state["classes"]) if state.get("classes") else num_classes
    except Exception as err:  # noqa: BLE001 - any file torch.load cannot read, or not ours
        raise ValueError(
            f"--checkpoint {checkpoint}: not a checkpoint of the trainer (train_imagenet.py "
            f"--save): {type(err).__name__}: {err}"
        ) from None
    model = build_model(arch, classes)
    model.load_state_dict(weights)
    return model, f"{arch} of {Path(checkpoint).name}"


@dataclass
class LayerMix:
    """One layer's mixing of the batch: what the mixer returned and the sources' maps."""

    layer: str
    info: FeatureMixInfo
    maps: torch.Tensor  # (N, h, w) float32 saliency of each sample's unmixed feature maps


def normalised(images: Sequence[np.ndarray]) -> torch.Tensor:
    """uint8 HWC RGB images as a float32 NCHW batch, normalised with ImageNet's mean and std."""
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    return (batch - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]


def mix_layers(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    layers: Sequence[str],
    options: MixConfig,
    saliency: str,
    seed: int,
) -> list[LayerMix]:
    """Each layer mixed on its own (one mixer per layer, the same seed).

    The model is in training mode, so that the mixer mixes, with its BatchNorm layers on their
    running statistics: a sample's maps do not depend on the rest of the batch.
    """
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
    return [mix_layer(model, images, labels, layer, options, saliency, seed) for layer in layers]


def mix_layer(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    layer: str,
    options: MixConfig,
    saliency: str,
    seed: int,
) -> LayerMix:
    """One layer mixed by a mixer of its own; the maps are captured before the mixing."""
    seen: dict[str, torch.Tensor] = {}
    capture = find_layer(model, layer).register_forward_hook(
        lambda m, a, out: seen.__setitem__("maps", out.detach()), prepend=True
    )
    mixer = FeatureSaliencyMix(model, [layer], options, saliency=saliency, seed=seed)
    try:
        with torch.no_grad():
            info = mixer(images, labels, return_info=True)[2]
    finally:
        mixer.remove()
        capture.remove()
    return LayerMix(layer, info, feature_saliency(seen["maps"], saliency))


def scaled_box(box: Sequence[int], grid_shape: Sequence[int], image_shape: Sequence[int]) -> list:
    """A feature-map box (y1, x1, y2, x2) in image pixels."""
    (h, w), (height, width) = grid_shape, image_shape
    y1, x1, y2, x2 = (int(v) for v in box)
    return [
        round(y1 * height / h),
        round(x1 * width / w),
        round(y2 * height / h),
        round(x2 * width / w),
    ]


def source_heat(saliency: torch.Tensor, size: Sequence[int]) -> Image.Image:
    """A source's feature saliency as a heat map of the image's size, its peak marked."""
    values = saliency.numpy().astype(np.float64)
    span = values.max() - values.min()
    scaled = (values - values.min()) / span if span > 0 else np.zeros_like(values)
    height, width = size
    picture = Image.fromarray(heat_map(scaled)).resize((width, height), Image.NEAREST)
    py, px = (int(v[0]) for v in first_peaks(saliency[None]))
    h, w = values.shape
    return mark_peak(
        np.asarray(picture), (int((py + 0.5) * height / h), int((px + 0.5) * width / w))
    )


def feature_sheet(
    images: Sequence[np.ndarray],
    labels: Sequence[int],
    mixes: Sequence[LayerMix],
    class_names: Sequence[str],
    model_name: str,
    out: Path,
) -> Path:
    """Write a PNG: per sample and layer, target + box, source + box, the source's saliency."""
    rows = []
    for i, image in enumerate(images):
        row = []
        for mix in mixes:
            j = int(mix.info.source[i])
            grid_shape = tuple(mix.maps.shape[1:])
            box = scaled_box(mix.info.boxes[i].tolist(), grid_shape, image.shape[:2])
            lam = float(mix.info.lam[i])
            text = weights_text(lam, class_names[labels[i]], class_names[labels[j]])
            where = f"{mix.layer} {grid_shape[0]}x{grid_shape[1]}"
            row.append(caption(caption(outline_box(image, box), where, top=True), text))
            row.append(caption(outline_box(images[j], box, (0, 255, 255)), f"source #{j}"))
            heat = source_heat(mix.maps[j], image.shape[:2])
            row.append(caption(caption(heat, model_name, top=True), f"{mix.layer} saliency"))
        rows.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    grid(rows).save(out)
    return out


def write_feature_preview(
    folder: ImageFolder,
    out: Path,
    *,
    layers: Sequence[str],
    mix: MixConfig,
    checkpoint: str | Path | None = None,
    saliency: str = "mean_abs",
    batch_size: int = 8,
    device_id: int | None = None,
    size: int = 224,
    seed: int = 1,
) -> Path:
    """The feature-mixing preview of a batch of `folder` (see the module's docstring).

    Every sample is mixed (``prob=1``, ``mode="elem"``, i with N-1-i) with the options of `mix`
    (what feature mixing does not take is refused, as in the trainer); the model runs on the
    CPU.
    """
    # The family's options as given (MixUp, target_background or saliency weights refused, as
    # the trainer does), every sample mixed.
    every = mix.replace(num_classes=folder.num_classes, prob=1.0, mode="elem", pairing="reverse")
    options = feature_mix_options(every, {})
    outputs = preview_pipeline(folder, batch_size, device_id, size, mix, seed).run()
    images, labels = to_numpy(outputs[0]), to_numpy(outputs[1])
    ids = [int(np.asarray(v).reshape(-1)[0]) for v in labels]
    model, name = preview_model(checkpoint, folder.num_classes)
    mixes = mix_layers(
        model, normalised(images), torch.tensor(ids), layers, options, saliency, seed
    )
    return feature_sheet(images, ids, mixes, folder.classes, name, out)
