"""One set of defaults: ``dali_saliencymix.mix`` (DALI), ``torch.mix``, ``numpy.mix``,
``MixConfig()``, the trainer's parser and each command's parser take the same option names and
mix the same way when given none.

What "the same way" is, checked on what each returns: SaliencyMix (CutMix only, the box around
the saliency peak of the source, pasted at the same place), lam ~ Beta(1, 1) corrected to the
box's area, one draw for the batch (one box, from the source of sample 0), sample i mixed with
N-1-i, no label smoothing, every batch mixed. ``saliency_mix`` (DALI and torch) is the paper's
preset: the same with random partners. The one default that is not MixConfig's: on the command
line (trainer and ``dali-saliencymix``), ``--num-classes`` defaults to the classes found in the
data, and ``--mixup-off-epoch`` to 0, timm's "never" (MixConfig's None).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from nvidia.dali import fn, pipeline_def
from test_saliency_mix_dali import arrays, photo_batch

import dali_saliencymix
from dali_saliencymix import MixConfig
from dali_saliencymix import numpy as dsm_numpy
from dali_saliencymix import torch as dsm_torch
from dali_saliencymix.app.cli import build_parser as cli_parser
from dali_saliencymix.app.flags import mix_config_from_args
from dali_saliencymix.app.train.args import build_parser as trainer_parser
from dali_saliencymix.options import OPTION_NAMES

N, H, W, CLASSES = 6, 48, 64, 6
IMAGES = photo_batch(N, H, W)
LABELS = np.arange(N, dtype=np.int32)  # every sample its own class: the labels show the pairs


def assert_default_mixing(out, sources_reversed: bool = True) -> bool:
    """`out` = (images, soft labels, boxes, lams, sources) of one batch mixed by the defaults.

    Returns whether a box was pasted (lam near 1 can make it empty: then nothing moves).
    """
    mixed, soft, boxes, lams, sources = (np.asarray(o) for o in out)
    if sources_reversed:
        np.testing.assert_array_equal(sources, np.arange(N)[::-1])
    else:
        assert sorted(sources.tolist()) == list(range(N))
    assert (boxes == boxes[0]).all(), "one box for the batch"
    y1, x1, y2, x2 = (int(v) for v in boxes[0])
    pasted = y2 > y1 and x2 > x1
    if pasted:
        _, (py, px) = dsm_numpy.saliency_map(IMAGES[sources[0]])
        assert y1 <= py <= y2 and x1 <= px <= x2, "the box is around source 0's saliency peak"
    inside = np.zeros((H, W), bool)
    inside[y1:y2, x1:x2] = True
    for i in range(N):  # pasted at the same place, nothing blended
        np.testing.assert_array_equal(mixed[i][inside], IMAGES[sources[i]][inside])
        np.testing.assert_array_equal(mixed[i][~inside], IMAGES[i][~inside])
    np.testing.assert_allclose(lams, 1 - inside.sum() / (H * W), rtol=0, atol=1e-6)
    expected = np.zeros((N, CLASSES), np.float32)  # no smoothing: exact zeros elsewhere
    expected[np.arange(N), LABELS] += lams
    expected[np.arange(N), LABELS[sources]] += 1 - lams
    np.testing.assert_allclose(soft, expected, rtol=0, atol=1e-6)
    return pasted


def dali_run(op, seed: int, **options: object) -> tuple:
    @pipeline_def(batch_size=N, num_threads=1, device_id=None, seed=seed)
    def pipe():  # noqa: ANN202
        images = fn.external_source(source=lambda: list(IMAGES), batch=True, layout="HWC")
        labels = fn.external_source(source=lambda: list(LABELS), batch=True)
        return op(images, labels, return_info=True, **options)

    p = pipe()
    p.build()
    return tuple(arrays(o) for o in p.run())


def test_every_entry_point_mixes_the_same_way_with_no_options() -> None:
    pasted = []
    for seed in range(4):
        pasted.append(
            assert_default_mixing(dali_run(dali_saliencymix.mix, seed, num_classes=CLASSES))
        )
        for options in ({"num_classes": CLASSES}, {"options": MixConfig(num_classes=CLASSES)}):
            images = torch.from_numpy(IMAGES)
            out = dsm_torch.mix(images, LABELS, seed=seed, return_info=True, **options)
            pasted.append(assert_default_mixing(out))
            out = dsm_numpy.mix(IMAGES, LABELS, seed=seed, return_info=True, **options)
            pasted.append(assert_default_mixing(out))
    assert sum(pasted) >= 0.75 * len(pasted)  # lam ~ Beta(1, 1): most boxes are not empty


def test_saliency_mix_is_the_same_with_random_partners() -> None:
    pasted = []
    for seed in range(3):
        out = dali_run(dali_saliencymix.saliency_mix, seed, num_classes=CLASSES)
        pasted.append(assert_default_mixing(out, sources_reversed=False))
        images = torch.from_numpy(IMAGES)
        out = dsm_torch.saliency_mix(
            images, LABELS, num_classes=CLASSES, seed=seed, return_info=True
        )
        pasted.append(assert_default_mixing(out, sources_reversed=False))
    assert sum(pasted) >= 4
    # alpha is the documented alias of cutmix_alpha: the same draws, the same batch.
    images = torch.from_numpy(IMAGES)
    old = dsm_torch.saliency_mix(images, LABELS, num_classes=CLASSES, alpha=0.3, seed=7)
    new = dsm_torch.saliency_mix(images, LABELS, num_classes=CLASSES, cutmix_alpha=0.3, seed=7)
    assert all(torch.equal(a, b) for a, b in zip(old, new, strict=True))


def test_every_entry_point_takes_exactly_mixconfigs_names() -> None:
    """Each option by its name, at its default, changes nothing; an unknown name is refused."""
    every = {f.name: f.default for f in dataclasses.fields(MixConfig)}
    every.update(num_classes=CLASSES)
    del every["mix_off_epoch"]  # a pipeline factory's option (the switch), not a batch's
    base = dsm_torch.mix(torch.from_numpy(IMAGES), LABELS, num_classes=CLASSES, seed=5)
    named = dsm_torch.mix(torch.from_numpy(IMAGES), LABELS, seed=5, **every)
    assert all(torch.equal(a, b) for a, b in zip(base, named, strict=True))
    base = dsm_numpy.mix(IMAGES, LABELS, num_classes=CLASSES, seed=5)
    named = dsm_numpy.mix(IMAGES, LABELS, seed=5, **every)
    assert all(np.array_equal(a, b) for a, b in zip(base, named, strict=True))
    base, named = (
        dali_run(dali_saliencymix.mix, 4, num_classes=CLASSES),
        dali_run(dali_saliencymix.mix, 4, **every),
    )
    assert all(np.array_equal(a, b) for a, b in zip(base, named, strict=True))
    for call in (
        lambda: dsm_torch.mix(torch.from_numpy(IMAGES), LABELS, num_classes=3, alpha=1.0),
        lambda: dsm_numpy.mix(IMAGES, LABELS, num_classes=3, smoothing=0.1),
        lambda: dali_run(dali_saliencymix.mix, 0, num_classes=3, mixup=0.8),
    ):
        with pytest.raises(TypeError, match="unknown option"):
            call()


def parsers() -> dict:
    """Every parser with mixing flags: the trainer's and each dali-saliencymix command's."""
    cli = cli_parser()
    given = {"demo": [], "preview": ["DATA", "--out", "x.png"], "bench": ["DATA"]}
    found = {"train_imagenet.py": lambda argv: trainer_parser().parse_args(["DATA", *argv])}
    for command, argv in given.items():
        found[f"dali-saliencymix {command}"] = lambda more, c=command, a=argv: cli.parse_args(
            [c, *a, *more]
        )
    return found


@pytest.mark.parametrize("name", sorted(parsers()))
def test_every_command_line_defaults_to_mixconfig(name) -> None:
    """The flags' defaults are MixConfig's; --num-classes defaults to the classes found (here
    7) and --mixup-off-epoch to 0 (never: MixConfig's None)."""
    args = parsers()[name]([])
    assert mix_config_from_args(args, 7, name) == MixConfig(num_classes=7)
    assert args.num_classes is None
    assert getattr(args, "mixup_off_epoch", 0) == 0
    given = parsers()[name](["--cutmix", "0.5", "--smoothing", "0.1"])
    assert mix_config_from_args(given, 7, name) == MixConfig(
        num_classes=7, cutmix_alpha=0.5, label_smoothing=0.1
    )


def test_the_readme_table_lists_mixconfig() -> None:
    """The README's table of options has MixConfig's names, flags and defaults."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    table = {row.split("|")[1].strip().strip("`"): row.split("|")[2:4] for row in rows}
    for f in dataclasses.fields(MixConfig):
        flag, default = (cell.strip() for cell in table[f.name])
        assert flag == (f"`{f.metadata['flag']}`" if f.metadata["flag"] else ""), f.name
        shown = repr(f.default).replace("'", '"')
        assert default.split(" ")[0].strip("`") == shown, (f.name, default)
    assert set(OPTION_NAMES) <= set(table)


def test_the_raw_operator_defaults_to_mixconfig() -> None:
    """fn.saliency_mix's own argument defaults are MixConfig's (no source: reverse pairing)."""
    from nvidia.dali import backend

    dali_saliencymix.load_plugin()
    schema = backend.GetSchema("SaliencyMix")
    defaults = MixConfig()
    for name in ("mode", "box", "placement", "label_weights"):
        assert schema.GetArgumentDefaultValueString(name) == repr(getattr(defaults, name)), name
    assert float(schema.GetArgumentDefaultValueString("label_smoothing")) == 0.0
    assert schema.GetArgumentDefaultValueString("correct_lam") == str(defaults.correct_lam)
    assert defaults.pairing == "reverse"  # the operator's pairing without a `source` input
