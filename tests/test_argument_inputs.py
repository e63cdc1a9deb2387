"""`fn.saliency_mix` reads its draws in the dtypes DALI's operators and NumPy give, names the
argument when a dtype or shape cannot be used, and refuses soft labels that are not finite and
non-negative (CPU pipelines)."""

from __future__ import annotations

import numpy as np
import pytest
from nvidia.dali import fn, pipeline_def

import dali_saliencymix

dali_saliencymix.load_plugin()  # fn.saliency_mix

N = 4
STANDARD = {"source": np.int32, "lam": np.float32, "apply": np.int32}
VALUES = {"source": [2, 3, 1, 0], "lam": [0.25, 0.5, 0.75, 0.625], "apply": [1, 0, 1, 1]}


def feed(values: list[np.ndarray]):
    return fn.external_source(source=lambda: values, batch=True)


def run(dtypes=None, shapes=None, labels=None, values=None):
    """fn.saliency_mix on a fixed batch with the draws fed in the given dtypes; its outputs."""
    dtypes = {**STANDARD, **(dtypes or {})}
    values = {**VALUES, **(values or {})}
    shapes = shapes or {}
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(N)]
    labels = labels if labels is not None else [np.array([i], np.int32) for i in range(N)]

    def pipe():
        draws = {
            name: feed([np.full(shapes.get(name, ()), v, dtypes[name]) for v in values[name]])
            for name in STANDARD
        }
        outs = fn.saliency_mix(
            feed(images), feed(labels), num_classes=N, output_mix_info=True, **draws
        )
        return tuple(outs)

    p = pipeline_def(pipe, batch_size=N, num_threads=2, device_id=None)()
    p.build()
    return [np.stack([np.array(t) for t in out]) for out in p.run()]


@pytest.mark.parametrize(
    "dtypes",
    [
        {"source": np.int64},
        {"source": np.uint8},
        {"source": np.int16, "apply": np.uint8},
        {"apply": np.bool_},
        {"apply": np.int64},
        {"lam": np.float64},
        {"lam": np.float16},
        {"source": np.int64, "lam": np.float64, "apply": np.bool_},
    ],
    ids=lambda d: "-".join(f"{k}:{np.dtype(v).name}" for k, v in d.items()),
)
def test_accepted_dtypes_give_the_same_batch(dtypes) -> None:
    expected = run()
    got = run(dtypes)
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a, b)


def test_draws_of_shape_one_are_accepted() -> None:
    expected = run()
    got = run(shapes={"source": (1,), "lam": (1,), "apply": (1,)})
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("dtypes", "message"),
    [
        ({"lam": np.int32}, "argument `lam` must be float32 (as fn.random.beta gives), "),
        ({"lam": np.uint8}, "argument `lam` must be float32"),
        ({"source": np.float32}, "argument `source` must be an integer type"),
        ({"apply": np.float32}, "argument `apply` must be an integer type or bool"),
    ],
)
def test_other_dtypes_are_refused_by_name(dtypes, message) -> None:
    with pytest.raises(RuntimeError) as err:
        run(dtypes)
    text = str(err.value)
    got = np.dtype(next(iter(dtypes.values()))).name
    assert "fn.saliency_mix: " + message in text and f"got {got}" in text, text


def test_draws_of_several_values_are_refused_by_name() -> None:
    with pytest.raises(RuntimeError, match=r"argument `lam`, sample 0: expected one value"):
        run(shapes={"lam": (2,)})


def test_wide_source_values_are_range_checked_before_narrowing() -> None:
    # 2**32 + 1 would wrap to 1 as int32: it must be refused as out of range instead.
    with pytest.raises(RuntimeError, match=r"source: sample 0 pairs with 4294967297"):
        run({"source": np.int64}, values={"source": [2**32 + 1, 3, 1, 0]})


@pytest.mark.parametrize(("bad", "shown"), [(np.nan, "nan"), (np.inf, "inf"), (-0.5, "-0.5")])
def test_soft_labels_must_be_finite_and_non_negative(bad, shown) -> None:
    soft = [np.full(N, 1 / N, np.float32) for _ in range(N)]
    soft[2] = soft[2].copy()
    soft[2][1] = bad
    with pytest.raises(RuntimeError) as err:
        run(labels=soft)
    text = str(err.value)
    assert f"fn.saliency_mix: input 1 (labels): sample 2, class 1 is {shown}" in text, text
    assert "expected a finite value >= 0" in text
