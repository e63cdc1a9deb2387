"""Soft labels are probabilities: rows whose sum is not 1 (within 1e-3) are refused by the numpy
and torch front ends, naming the function, the sample and its sum (issue 17, item 11)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dali_saliencymix import numpy as dsm_numpy
from dali_saliencymix.torch import mix as torch_mix

IMAGES = np.zeros((2, 8, 8, 3), np.uint8)


def soft_rows(second: np.ndarray) -> np.ndarray:
    """Two rows over 4 classes: a valid one-hot, then `second`."""
    return np.stack([np.eye(4, dtype=np.float32)[0], second.astype(np.float32)])


REFUSED = {
    "one-hot x 5": (np.eye(4)[2] * 5, "5"),
    "all zeros": (np.zeros(4), "0"),
    "3e38": (np.array([3e38, 0, 0, 0]), "3e+38"),
    "just over": (np.full(4, 0.25 + 0.0003), "1.0012"),
    "just under": (np.full(4, 0.25 - 0.0003), "0.9988"),
}


def mixers():
    return [
        ("numpy.mix", lambda labels: dsm_numpy.mix(IMAGES, labels, num_classes=4, seed=0)),
        (
            "torch.mix",
            lambda labels: torch_mix(
                torch.from_numpy(IMAGES), torch.from_numpy(labels), num_classes=4, seed=0
            ),
        ),
    ]


@pytest.mark.parametrize("case", sorted(REFUSED))
@pytest.mark.parametrize("who, run", mixers(), ids=["numpy", "torch"])
def test_rows_that_do_not_sum_to_one_are_refused(who, run, case) -> None:
    row, total = REFUSED[case]
    with pytest.raises(ValueError) as err:
        run(soft_rows(row))
    message = str(err.value)
    assert message.startswith(f"{who}: labels: sample 1 sums to {total}"), message
    assert "expected 1" in message


@pytest.mark.parametrize("who, run", mixers(), ids=["numpy", "torch"])
def test_rows_within_the_tolerance_are_mixed(who, run) -> None:
    # |sum - 1| = 8e-4 <= 1e-3: accepted; the mixed rows keep that sum.
    labels = soft_rows(np.full(4, 0.25 + 0.0002))
    _, mixed = run(labels)
    sums = np.asarray(mixed).sum(1)
    assert np.all(np.abs(sums - 1) <= 1e-3), (who, sums)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU (none visible)")
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_device_rows_that_do_not_sum_to_one_are_refused(case) -> None:
    row, total = REFUSED[case]
    labels = torch.from_numpy(soft_rows(row)).cuda()
    with pytest.raises(ValueError, match=rf"^torch.mix: labels: sample 1 sums to {total}"):
        torch_mix(torch.from_numpy(IMAGES).cuda(), labels, num_classes=4, seed=0)
