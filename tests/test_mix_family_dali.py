"""dali_saliencymix.mix in CPU DALI pipelines: timm's recipe draws MixUp and CutMix as asked,
and a pipeline checkpoint restores identical batches, the MixUp/CutMix switch included."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import PHOTO_DIR
from nvidia.dali import fn, pipeline_def, types
from test_saliency_mix_dali import arrays

import dali_saliencymix

DEIT = {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "switch_prob": 0.5, "label_smoothing": 0.1}


def recipe_pipeline(batch_size: int, checkpoint: str | None = None, **options: object):
    @pipeline_def(
        batch_size=batch_size,
        num_threads=2,
        device_id=None,
        seed=99,
        enable_checkpointing=True,
    )
    def pipe():  # noqa: ANN202
        jpegs, labels = fn.readers.file(file_root=str(PHOTO_DIR), random_shuffle=True, name="R")
        images = fn.decoders.image(jpegs, device="cpu", output_type=types.RGB)
        images = fn.resize(images, resize_x=48, resize_y=40)
        return dali_saliencymix.mix(
            images, labels, num_classes=4, return_info=True, **{**DEIT, **options}
        )

    p = pipe(checkpoint=checkpoint) if checkpoint is not None else pipe()
    p.build()
    return p


@pytest.mark.parametrize("mode", ["elem", "pair", "batch"])
def test_checkpoint_restores_batches_and_the_mixup_cutmix_switch(mode) -> None:
    first = recipe_pipeline(6, mode=mode, box="random")
    for _ in range(2):
        first.run()
    checkpoint = first.checkpoint()
    expected = [[arrays(o) for o in first.run()] for _ in range(6)]
    restored = recipe_pipeline(6, checkpoint, mode=mode, box="random")
    got = [[arrays(o) for o in restored.run()] for _ in range(6)]
    for x, y in zip(expected, got, strict=True):
        for u, v in zip(x, y, strict=True):
            np.testing.assert_array_equal(u, v)
    # Both kinds occurred after the checkpoint: CutMix leaves a box, MixUp none with lam < 1.
    boxes = np.concatenate([b[2] for b in expected])
    lams = np.concatenate([b[3] for b in expected])
    has_box = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    assert has_box.any() and (~has_box & (lams < 1)).any()


def test_mixup_only_and_cutmix_only_recipes() -> None:
    mixup = [arrays(o) for o in recipe_pipeline(6, mixup_alpha=0.4, cutmix_alpha=0.0).run()]
    assert not mixup[2].any() and (mixup[3] < 1).all()  # no boxes, every sample blended
    cut = [arrays(o) for o in recipe_pipeline(6, mixup_alpha=0.0, mode="elem").run()]
    boxes, lams = cut[2], cut[3]
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    np.testing.assert_allclose(lams, 1 - area / (40 * 48), rtol=0, atol=1e-6)  # corrected lam


def test_reverse_pairing_pairs_i_with_n_minus_1_minus_i() -> None:
    sources = arrays(recipe_pipeline(6).run()[4])
    np.testing.assert_array_equal(sources, [5, 4, 3, 2, 1, 0])
    sources = arrays(recipe_pipeline(6, pairing="permutation").run()[4])
    assert sorted(sources.tolist()) == list(range(6))


def test_mix_is_the_function_whatever_was_imported_first() -> None:
    import dali_saliencymix.pipeline  # noqa: F401 - imports the mixing step's module first
    from dali_saliencymix.ops import mix

    assert dali_saliencymix.mix is mix and callable(dali_saliencymix.saliency_mix)
