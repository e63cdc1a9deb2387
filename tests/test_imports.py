"""The package imports without DALI, and with a DALI other than the plugin's: the kernels, the
PyTorch path and the dataset checks work there; only the DALI operators refuse, saying why."""

from __future__ import annotations

import textwrap

import pytest
from conftest import run_python as run_child

import dali_saliencymix

USE_WITHOUT_THE_PLUGIN = """
import numpy as np
import torch
import dali_saliencymix
from dali_saliencymix.numpy import saliency_map
from dali_saliencymix.torch import saliency_mix
import dali_saliencymix.app.cli, dali_saliencymix.data, dali_saliencymix.numpy

image = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
saliency, peak = saliency_map(image)
assert saliency.shape == (40, 50) and saliency[peak] == saliency.max()
batch = torch.from_numpy(np.stack([image, image[::-1].copy()]))
mixed, targets = saliency_mix(batch, torch.tensor([0, 1]), num_classes=2, seed=0)
assert mixed.shape == batch.shape and torch.allclose(targets.sum(1), torch.ones(2))
try:
    dali_saliencymix.{op}
except ImportError as err:
    print("REFUSED:", err)
else:
    raise SystemExit("the DALI operator should have been refused")
"""


def run_python(prelude: str, body: str) -> str:
    code = textwrap.dedent(prelude) + textwrap.dedent(body)
    done = run_child(code)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_without_dali() -> None:
    hide_dali = "import sys\nsys.modules['nvidia.dali'] = None  # import nvidia.dali now fails\n"
    out = run_python(hide_dali, USE_WITHOUT_THE_PLUGIN.format(op="saliency_mix"))
    assert "REFUSED: dali_saliencymix.saliency_mix needs NVIDIA DALI" in out
    assert "dali-saliencymix[cuda12]" in out
    out = run_python(hide_dali, "import dali_saliencymix\nprint(dali_saliencymix.HAVE_DALI)\n")
    assert out.strip() == "False"


def test_with_another_dali_version() -> None:
    built = dali_saliencymix.build_info()["dali_version"]
    if not built:
        pytest.skip("a development build (DSM_LIB_DIR) records no DALI version to compare")
    other = "import nvidia.dali\nnvidia.dali.__version__ = '9.9.9'  # as if another was installed\n"
    out = run_python(other, USE_WITHOUT_THE_PLUGIN.format(op="load_plugin()"))
    assert f"built against nvidia-dali {built}, but nvidia-dali 9.9.9 is installed" in out


def test_the_raw_operators_exist_after_import() -> None:
    """`import dali_saliencymix` loads the plugin when the installed DALI matches its build."""
    out = run_python(
        "",
        """
        import dali_saliencymix
        from nvidia.dali import fn
        print(hasattr(fn, "saliency_mix"), hasattr(fn, "fine_grained_saliency"))
        """,
    )
    assert out.split() == ["True", "True"]


def test_another_dali_wheel_leaves_the_plugin_unloaded_until_used() -> None:
    """With the metadata of another DALI release, the import works and loads nothing; the first
    operator used names both versions."""
    fake = """
    import importlib.metadata as m
    real = m.version
    m.version = lambda name: "9.9.9" if name.startswith("nvidia-dali") else real(name)
    """
    out = run_python(
        fake,
        """
        import dali_saliencymix
        import nvidia.dali
        nvidia.dali.__version__ = "9.9.9"
        from nvidia.dali import fn
        print("LOADED" if hasattr(fn, "saliency_mix") else "NOT LOADED")
        try:
            dali_saliencymix.load_plugin()
        except ImportError as err:
            print("REFUSED:", err)
        """,
    )
    assert "NOT LOADED" in out and "REFUSED:" in out and "9.9.9 is installed" in out


def test_timm_is_imported_only_by_the_drop_ins() -> None:
    """``import dali_saliencymix`` (and its torch path) never imports timm; the drop-ins without
    timm are a clear ImportError."""
    out = run_python(
        "import sys\n",
        """
        import dali_saliencymix, dali_saliencymix.torch, dali_saliencymix.numpy
        print("timm imported:", "timm" in sys.modules)
        sys.modules["timm"] = None  # import timm now fails, as where it is not installed
        try:
            import dali_saliencymix.timm
        except ImportError as err:
            print("REFUSED:", err)
        """,
    )
    assert "timm imported: False" in out
    assert "REFUSED: dali_saliencymix.timm subclasses timm's Mixup and FastCollateMixup" in out
    assert "pip install timm" in out
