"""The C API never lets a C++ exception out: failures come back as codes and messages.

An allocation failure inside the kernels (forced by lowering RLIMIT_AS in a subprocess) must
reach Python as a ValueError that says memory ran out, not abort the process with
``terminate called after throwing an instance of 'std::bad_alloc'`` (exit code 134).
"""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
from conftest import run_python

from dali_saliencymix import MixConfig
from dali_saliencymix._native import c_api
from dali_saliencymix.numpy import saliency_map


def raw_mix_cpu(images, soft, source, lam, apply, label_smoothing=0.0):
    """dsm_mix_cpu on soft labels, straight through the binding (no Python checks of the label
    values); returns (status, message, mixed labels)."""
    n = len(images)
    out_images = np.empty_like(images)
    out_labels = np.empty((n, soft.shape[1]), np.float32)
    try:
        c_api.mix(
            images=images.ctypes.data,
            shape=images.shape,
            label_ids=None,
            soft_labels=soft.ctypes.data,
            options=MixConfig(num_classes=soft.shape[1], label_smoothing=label_smoothing),
            source=source.ctypes.data,
            lam=lam.ctypes.data,
            apply=apply.ctypes.data,
            cutmix=None,
            box_draw=None,
            out_images=out_images.ctypes.data,
            out_labels=out_labels.ctypes.data,
            out_boxes=None,
            out_lam=None,
        )
    except ValueError as err:
        return 1, str(err), out_labels
    return 0, "", out_labels


# The child allocates its inputs (and, in the numpy entry points, its outputs) first, then
# lowers its address-space limit to what it uses plus the outputs plus a margin smaller than the
# kernel's first scratch buffer (one H*W image), so that the kernel's allocation fails.
CHILD = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from dali_saliencymix.numpy import MixDraws, mix, saliency_map

    H = W = 4096
    MARGIN = 12 << 20  # < H * W = 16 MiB, the kernel's first buffer

    def used_bytes():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmSize")

    def limit(extra):
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (used_bytes() + extra + MARGIN, hard))

    which = sys.argv[1]
    try:
        if which == "mix":
            n = 2
            images = np.full((n, H, W, 1), 7, np.uint8)
            labels = np.arange(n, dtype=np.int32)
            source = np.array([1, 0], np.int32)
            lam = np.full(n, 0.5, np.float32)
            apply = np.ones(n, np.uint8)
            limit(n * H * W)  # the mixed images the entry point allocates
            mix(images, labels, num_classes=n, draws=MixDraws(source, lam, apply))
        else:
            image = np.full((H, W), 7, np.uint8)
            limit(H * W)  # the map the entry point allocates
            saliency_map(image)
    except ValueError as err:
        print("VALUE_ERROR:", err)
        sys.exit(0)
    except MemoryError as err:  # Python itself ran out first: the margin is wrong
        print("PYTHON_MEMORY_ERROR:", err)
        sys.exit(3)
    print("NO_ERROR")
    sys.exit(4)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS")
@pytest.mark.parametrize(("which", "entry"), [("mix", "numpy.mix"), ("map", "saliency_map")])
def test_allocation_failure_is_an_error_not_an_abort(which: str, entry: str) -> None:
    done = run_python(CHILD, which)
    report = f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr[-2000:]}"
    assert done.returncode == 0, report
    assert "VALUE_ERROR:" in done.stdout, report
    message = done.stdout.split("VALUE_ERROR:", 1)[1]
    assert entry in message and "out of memory" in message, report
    assert "bad_alloc" in message, report


def test_errors_name_the_function_called_and_leave_the_next_call_working(rng) -> None:
    with pytest.raises(ValueError, match="^saliency_map: image: expected a non-empty image"):
        saliency_map(np.zeros((0, 4), np.uint8))
    # Straight through the binding, the message names the C entry point.
    with pytest.raises(ValueError, match="^dsm_saliency_cpu: image: expected a non-empty image"):
        c_api.saliency_cpu(0, 0, 4, 1, 0, False)
    image = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    saliency, _ = saliency_map(image)
    assert saliency.shape == (16, 16)


def mix_three(soft: np.ndarray) -> tuple:
    """dsm_mix_cpu of three black 8x8 images with these soft labels, all mixed (lam 0.5)."""
    return raw_mix_cpu(
        np.zeros((3, 8, 8, 3), np.uint8),
        soft,
        np.array([1, 2, 0], np.int32),
        np.full(3, 0.5, np.float32),
        np.ones(3, np.uint8),
    )


@pytest.mark.parametrize(
    ("bad", "shown"), [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf"), (-0.25, "-0.25")]
)
def test_soft_labels_must_be_finite_and_non_negative(bad: float, shown: str) -> None:
    soft = np.full((3, 4), 0.25, np.float32)
    soft[1, 2] = bad
    status, message, _ = mix_three(soft)
    assert status != 0
    assert message.startswith("dsm_mix_cpu: labels: sample 1, class 2 is " + shown)
    assert "expected a finite value >= 0" in message


def test_negative_zero_and_zero_soft_labels_are_valid() -> None:
    soft = np.zeros((2, 3), np.float32)
    soft[0, 0] = -0.0
    soft[0, 2] = 1.0
    soft[1, 1] = 1.0
    status, message, mixed = raw_mix_cpu(
        np.zeros((2, 8, 8, 3), np.uint8),
        soft,
        np.array([1, 0], np.int32),
        np.full(2, 0.5, np.float32),
        np.zeros(2, np.uint8),
    )
    assert status == 0, message
    np.testing.assert_array_equal(mixed, np.abs(soft))


@pytest.mark.parametrize(
    ("row", "shown"),
    [
        ([5.0, 0.0, 0.0], "5"),
        ([0.0, 0.0, 0.0], "0"),
        ([3e38, 0.0, 0.0], "3.00000"),
        ([0.5, 0.4, 0.0], "0.9"),
    ],
)
def test_soft_labels_must_sum_to_one(row, shown) -> None:
    """One-hot x 5, all zeros and 3e38 were accepted; rows must sum to 1 (|sum - 1| <= 1e-3)."""
    soft = np.array([[0.0, 1.0, 0.0], row, [0.2, 0.3, 0.5]], np.float32)
    status, message, _ = mix_three(soft)
    assert status != 0
    assert message.startswith("dsm_mix_cpu: labels: sample 1 sums to " + shown), message
    assert "expected 1 (|sum - 1| <= 0.001)" in message


def test_soft_labels_within_the_tolerance_are_accepted() -> None:
    soft = np.array([[0.9995, 0.0, 0.0], [0.0, 0.0, 1.0009]], np.float32)
    status, message, _ = raw_mix_cpu(
        np.zeros((2, 8, 8, 3), np.uint8),
        soft,
        np.array([1, 0], np.int32),
        np.full(2, 0.5, np.float32),
        np.ones(2, np.uint8),
    )
    assert status == 0, message
