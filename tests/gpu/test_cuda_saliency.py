"""CUDA saliency equals the CPU implementation; runs only where a CUDA GPU is visible."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs an NVIDIA GPU with a driver (none visible)"
)


def test_cuda_matches_cpu_on_mixed_batch() -> None:
    from check_saliency_gpu import CudaSaliency, check_exact, sample_images

    rng = np.random.default_rng(3)
    images = sample_images(rng)[:120]
    checked, mismatches = check_exact(CudaSaliency(), images, "pytest")
    assert checked == 2 * len(images)
    assert mismatches == 0


def test_dali_gpu_operators_match_cpu(capsys) -> None:
    pytest.importorskip("nvidia.dali", reason="needs DALI (the dali-lite pack is enough)")
    from check_dali_gpu import main

    assert main(["--quick"]) == 0, capsys.readouterr().out
