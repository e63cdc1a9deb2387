"""Pictures for people: heat maps and marked peaks, assembled into one PNG grid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from dali_saliencymix.data.writing import atomic_path

# Anchor colours of a perceptual dark-to-bright heat map (black, purple, red, orange, pale yellow).
_HEAT_ANCHORS = np.array(
    [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float32
)


def heat_map(saliency: np.ndarray) -> np.ndarray:
    """Colour a uint8 (0-255) or float (0-1) saliency map as an RGB uint8 heat map."""
    values = saliency.astype(np.float32)
    if saliency.dtype == np.uint8:
        values /= 255.0
    position = np.clip(values, 0.0, 1.0) * (len(_HEAT_ANCHORS) - 1)
    low = np.minimum(position.astype(np.int32), len(_HEAT_ANCHORS) - 2)
    frac = (position - low)[..., None]
    rgb = _HEAT_ANCHORS[low] * (1.0 - frac) + _HEAT_ANCHORS[low + 1] * frac
    return rgb.round().astype(np.uint8)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """HWC RGB uint8 view of an RGB, HWC one-channel or HW gray image."""
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return image


def mark_peak(
    image: np.ndarray, peak: tuple[int, int], colour: tuple[int, int, int] = (0, 255, 0)
) -> Image.Image:
    """The image with a cross-hair and circle on the (y, x) peak."""
    picture = Image.fromarray(as_rgb(image))
    draw = ImageDraw.Draw(picture)
    y, x = peak
    r = max(4, min(picture.size) // 30)
    draw.ellipse([x - r, y - r, x + r, y + r], outline=colour, width=max(1, r // 3))
    draw.line([x - 2 * r, y, x + 2 * r, y], fill=colour, width=1)
    draw.line([x, y - 2 * r, x, y + 2 * r], fill=colour, width=1)
    return picture


def grid(rows: Sequence[Sequence[Image.Image]], cell: int = 224, pad: int = 4) -> Image.Image:
    """Lay out rows of pictures, each scaled to fit a `cell` x `cell` square."""
    columns = max(len(r) for r in rows)
    sheet = Image.new(
        "RGB", (columns * (cell + pad) + pad, len(rows) * (cell + pad) + pad), (255, 255, 255)
    )
    for i, row in enumerate(rows):
        for j, picture in enumerate(row):
            thumb = picture.copy()
            thumb.thumbnail((cell, cell))
            sheet.paste(thumb, (pad + j * (cell + pad), pad + i * (cell + pad)))
    return sheet


def outline_box(
    image: np.ndarray, box: Sequence[int], colour: tuple[int, int, int] = (0, 255, 0)
) -> Image.Image:
    """The image with the (y1, x1, y2, x2) box outlined (nothing when the box is empty)."""
    picture = Image.fromarray(as_rgb(image))
    y1, x1, y2, x2 = (int(v) for v in box)
    if y2 > y1 and x2 > x1:
        ImageDraw.Draw(picture).rectangle([x1, y1, x2 - 1, y2 - 1], outline=colour, width=2)
    return picture


def caption(picture: Image.Image, text: str, *, top: bool = False) -> Image.Image:
    """The picture with a line of text on a dark band at its bottom (or top)."""
    picture = picture.copy()
    draw = ImageDraw.Draw(picture)
    band = 14
    y0 = 0 if top else picture.height - band
    draw.rectangle([0, y0, picture.width, y0 + band], fill=(0, 0, 0))
    draw.text((3, y0 + 1), text, fill=(255, 255, 255))
    return picture


@dataclass
class MixedBatch:
    """One kind of mixing applied to a batch: the images, boxes, target weights and sources.

    ``boxes`` are where the patches were cut in the sources, ``dest_boxes`` where they went in
    the targets (the same place unless the placement moved them).
    """

    images: Sequence[np.ndarray]
    boxes: Sequence[Sequence[int]]
    dest_boxes: Sequence[Sequence[int]]
    lams: Sequence[float]
    sources: Sequence[int]


def weights_text(lam: float, target: str, source: str) -> str:
    """The two label weights of a mixed sample, e.g. ``0.62 cat + 0.38 dog``."""
    return f"{lam:.2f} {target} + {1 - lam:.2f} {source}" if lam < 1 else f"1.00 {target}"


def mix_sheet(
    originals: Sequence[np.ndarray],
    labels: Sequence[int],
    kinds: dict[str, MixedBatch],
    source_maps: Sequence[np.ndarray],
    class_names: Sequence[str],
    out: Path,
) -> Path:
    """Write a PNG: per sample, each kind of mixing, the source and its saliency heat map.

    Boxes are outlined where the patches went (green) and, for the last kind, where its patch
    was cut in the source (cyan); captions give the kind and the label weights; the source's
    saliency peak is marked. Every kind pairs sample i with the same source.
    """
    rows = []
    for i in range(len(originals)):
        row = []
        for name, kind in kinds.items():
            j = int(kind.sources[i])
            text = weights_text(
                float(kind.lams[i]), class_names[int(labels[i])], class_names[int(labels[j])]
            )
            mixed = outline_box(kind.images[i], kind.dest_boxes[i])
            row.append(caption(caption(mixed, name, top=True), text))
        last = list(kinds.values())[-1]
        j = int(last.sources[i])
        heat = mark_peak(heat_map(source_maps[j]), _peak(source_maps[j]), (0, 255, 255))
        cut = outline_box(originals[j], last.boxes[i], (0, 255, 255))
        row.append(caption(cut, f"source #{j}, its patch"))
        row.append(caption(heat, "source saliency"))
        rows.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as temp:
        grid(rows).save(temp, format=picture_format(out))
    return out


def picture_format(path: Path) -> str:
    """Pillow's format for a picture file name (by its extension); ValueError when it has none."""
    kind = Image.registered_extensions().get(path.suffix.lower())
    if kind is None or kind not in Image.SAVE:
        got = repr(path.suffix) if path.suffix else "no extension"
        raise ValueError(
            f"{path}: expected a picture file name ending in .png (or .jpg, .webp), got {got}"
        )
    return kind


def _peak(saliency: np.ndarray) -> tuple[int, int]:
    y, x = np.unravel_index(int(np.argmax(saliency)), saliency.shape)
    return int(y), int(x)
