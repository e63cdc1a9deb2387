"""Inputs that used to be mishandled: wide integer labels, non-finite soft labels, numpy
integers for options, numpy labels and empty batches on the PyTorch path, odd flag dtypes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kernel_calls import saliency_mix_numpy
from nvidia.dali import fn, pipeline_def, types
from test_saliency_mix_dali import arrays, photo_batch

import dali_saliencymix
from dali_saliencymix import MixConfig
from dali_saliencymix.torch import draw, saliency_mix
from dali_saliencymix.torch import mix as torch_mix

DRAWS = {"source": np.array([1, 0]), "lam": np.array([0.5, 0.5]), "apply": np.ones(2, np.uint8)}


def mix_numpy(labels, num_classes=5, **kwargs):
    images = np.zeros((2, 8, 8, 3), np.uint8)
    return saliency_mix_numpy(images, labels, num_classes=num_classes, **DRAWS, **kwargs)


@pytest.mark.parametrize(
    "labels", [np.array([2**32 + 3, 0], np.int64), np.array([0, 2**63 + 1], np.uint64)]
)
def test_class_ids_beyond_int32_are_refused_not_wrapped(labels) -> None:
    with pytest.raises(ValueError, match=r"has class \d+, expected 0 <= label < num_classes = 5"):
        mix_numpy(labels)


@pytest.mark.parametrize("value", [np.nan, np.inf, -0.25])
def test_non_finite_or_negative_soft_labels_are_refused(value) -> None:
    soft = np.full((2, 5), 0.2, np.float32)
    soft[1, 3] = value
    with pytest.raises(ValueError, match=r"sample 1, class 3 has weight .*finite value >= 0"):
        mix_numpy(soft)


@pytest.mark.parametrize("num_classes", [2**32 + 10, 2**31, 0, -3, 2.5, True])
def test_num_classes_outside_int32_is_refused(num_classes) -> None:
    with pytest.raises(ValueError, match="num_classes must be an integer >= 1"):
        MixConfig(num_classes=num_classes)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 1"):
        mix_numpy(np.array([0, 1]), num_classes=num_classes)


def test_numpy_integers_are_options_like_ints() -> None:
    config = MixConfig(
        num_classes=np.int64(10), cutmix_alpha=np.float32(0.5), mix_off_epoch=np.int8(3)
    )
    assert (config.num_classes, config.cutmix_alpha, config.mix_off_epoch) == (10, 0.5, 3)
    assert type(config.num_classes) is int and type(config.mix_off_epoch) is int
    _, soft, _, _ = mix_numpy(np.array([0, 9]), num_classes=np.int64(10))
    assert soft.shape == (2, 10)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("cutmix_alpha", float("nan"), "cutmix_alpha must be finite"),
        ("prob", float("nan"), "prob must be finite"),
        ("label_smoothing", "0.1", None),  # numbers given as text are read as numbers
        ("mode", "diagonal", "mode must be one of 'batch', 'pair', 'elem'"),
        ("mix_off_epoch", -1, "mix_off_epoch must be >= 0"),
        ("mix_off_epoch", 1.5, "mix_off_epoch must be an integer or None"),
    ],
)
def test_options_are_checked_in_one_place(option, value, message) -> None:
    if message is None:
        assert getattr(MixConfig(**{option: value}), option) == float(value)
        return
    with pytest.raises(ValueError, match="^MixConfig: ") as err:
        MixConfig(**{option: value})
    assert message in str(err.value)
    with pytest.raises(ValueError, match="^torch.mix: ") as err:
        torch_mix(torch.zeros((2, 8, 8, 3), dtype=torch.uint8), [0, 1], **{option: value})
    assert message in str(err.value)


def test_torch_path_takes_numpy_labels() -> None:
    images = torch.from_numpy(photo_batch(4, 32, 40))
    ids = np.array([0, 1, 2, 1])
    draws = draw(4, seed=1)
    from_numpy = saliency_mix(images, ids, num_classes=3, draws=draws)
    from_tensor = saliency_mix(images, torch.from_numpy(ids), num_classes=3, draws=draws)
    for a, b in zip(from_numpy, from_tensor, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("labels", [torch.zeros(0, dtype=torch.long), torch.zeros((0, 3))])
def test_torch_path_gives_empty_outputs_for_an_empty_batch(labels) -> None:
    images = torch.zeros((0, 16, 16, 3), dtype=torch.uint8)
    mixed, soft, boxes, lams, sources = saliency_mix(
        images, labels, num_classes=3, return_info=True
    )
    assert mixed.shape == (0, 16, 16, 3) and soft.shape == (0, 3)
    assert boxes.shape == (0, 4) and lams.shape == (0,) and sources.shape == (0,)


@pytest.mark.parametrize("dtype", [types.BOOL, types.UINT8, types.INT64, types.FLOAT])
def test_enabled_flags_of_any_numeric_type(dtype) -> None:
    images = photo_batch(4, 32, 40)

    def run(flag: int) -> list[np.ndarray]:
        @pipeline_def(batch_size=4, num_threads=1, device_id=None, seed=3)
        def pipe():  # noqa: ANN202
            data = fn.external_source(source=lambda: list(images), layout="HWC", batch=True)
            labels = fn.external_source(
                source=lambda: [np.array([i], np.int32) for i in range(4)], batch=True
            )
            enabled = fn.cast(fn.constant(idata=flag, shape=[]), dtype=dtype)
            return dali_saliencymix.saliency_mix(
                data, labels, num_classes=4, enabled=enabled, seed=7
            )

        p = pipe()
        p.build()
        return [arrays(o) for o in p.run()]

    mixed, soft = run(1)
    assert not np.array_equal(mixed, images)  # prob 1: every pair mixed (sources differ)
    mixed, soft = run(0)
    np.testing.assert_array_equal(mixed, images)
    np.testing.assert_array_equal(soft, np.eye(4, dtype=np.float32))


def test_saliency_mix_takes_the_content_aware_options() -> None:
    """saliency_mix (DALI and torch) passes placement and label_weights on: one more output."""
    images = photo_batch(4, 48, 56)
    out = saliency_mix(
        torch.from_numpy(images),
        torch.tensor([0, 1, 2, 3]),
        num_classes=4,
        placement="target_background",
        label_weights="saliency",
        seed=1,
        return_info=True,
    )
    assert len(out) == 6 and out[5].shape == (4, 4)

    @pipeline_def(batch_size=4, num_threads=1, device_id=None, seed=2)
    def pipe():  # noqa: ANN202
        data = fn.external_source(source=lambda: list(images), layout="HWC", batch=True)
        labels = fn.external_source(
            source=lambda: [np.array([i], np.int32) for i in range(4)], batch=True
        )
        return dali_saliencymix.saliency_mix(
            data, labels, num_classes=4, placement="target_background", return_info=True
        )

    p = pipe()
    p.build()
    outputs = [arrays(o) for o in p.run()]
    assert len(outputs) == 6 and outputs[5].shape == (4, 4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": np.array([2**32 + 1, 0])}, "draws.source: sample 0 pairs with 4294967297"),
        ({"source": np.array([-(2**32) + 1, 0])}, "draws.source: sample 0 pairs with -4294967295"),
        ({"source": np.array([1.7, 0.0])}, "draws.source: expected integers or bools, got dtype"),
        ({"apply": np.array([0.5, 1.0])}, "draws.apply: expected integers or bools, got dtype"),
    ],
)
def test_draws_are_checked_before_they_are_cast(change, message) -> None:
    with pytest.raises(ValueError, match="^numpy.mix: ") as err:
        saliency_mix_numpy(
            np.zeros((2, 8, 8, 3), np.uint8), np.array([0, 1]), num_classes=5, **{**DRAWS, **change}
        )
    assert message in str(err.value)


def test_apply_counts_any_non_zero_flag_as_mixed() -> None:
    big = {**DRAWS, "apply": np.array([256, 0], np.int32)}  # uint8 would wrap 256 to 0
    images = photo_batch(2, 32, 32)
    _, _, boxes, lams = saliency_mix_numpy(images, np.array([0, 1]), num_classes=5, **big)
    assert lams[0] < 1 and lams[1] == 1 and boxes[1].sum() == 0


@pytest.mark.parametrize("shape", [(2, 2), (1, 1, 4), (4, 1, 1)])
def test_class_ids_must_be_n_or_n_by_1(shape) -> None:
    with pytest.raises(ValueError, match=r"expected 4 class ids \(shape \(N,\) or \(N, 1\)\)"):
        saliency_mix_numpy(
            np.zeros((4, 8, 8, 3), np.uint8),
            np.zeros(shape, np.int64),
            num_classes=5,
            source=np.array([1, 0, 3, 2]),
            lam=np.full(4, 0.5),
            apply=np.ones(4, np.uint8),
        )
