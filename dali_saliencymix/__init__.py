"""SaliencyMix (saliency-guided CutMix) as an NVIDIA DALI operator plugin.

The public API:

- ``mix``, ``saliency_mix``, ``fine_grained_saliency``: the DALI graph (``ops``);
- ``MixConfig``: the options of the mixing family, written once (``options``);
- ``saliency_map``: one image's saliency on the CPU, without DALI (``numpy``);
- ``load_plugin``, ``build_info``: the compiled libraries (``_native``);
- subpackages ``pipeline`` (the factories), ``torch`` (tensors and the iterator), ``data``
  (folders, shards, the decode check) and ``app`` (the command line and the trainer).

Importing the package loads the DALI plugin when the installed DALI is the one the plugin was
built for (same version and wheel), so that ``nvidia.dali.fn.saliency_mix`` and
``nvidia.dali.fn.fine_grained_saliency`` exist right after ``import dali_saliencymix``. With
another DALI, or none, the import still works: the kernels, the torch front end and the dataset
checks need no DALI, and the first DALI wrapper used (or ``load_plugin()``) raises the error that
says what to install.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from typing import Any

from dali_saliencymix._native.libs import build_info
from dali_saliencymix.numpy import saliency_map
from dali_saliencymix.options import MixConfig

__version__ = "0.2.0"

HAVE_DALI = importlib.util.find_spec("nvidia") is not None and (
    importlib.util.find_spec("nvidia.dali") is not None
)

# Names that need DALI, imported from their modules on first use.
_DALI_NAMES = {
    "load_plugin": "dali_saliencymix._native.plugin",
    "mix": "dali_saliencymix.ops",
    "saliency_mix": "dali_saliencymix.ops",
    "fine_grained_saliency": "dali_saliencymix.ops",
}


def _load_plugin_if_it_matches() -> None:
    """Load the plugin now when the installed DALI wheel is the one it was built against.

    The match is read from the wheels' metadata, without importing DALI; any failure leaves the
    plugin unloaded, and the first DALI wrapper used (or ``load_plugin()``) says why.
    """
    if not HAVE_DALI:
        return
    try:
        info = build_info()
        if not info["with_dali_plugin"]:
            return
        installed = importlib.metadata.version(str(info["dali_distribution"]).split(",")[0])
    except (ImportError, importlib.metadata.PackageNotFoundError, KeyError):
        return
    if installed != info["dali_version"]:
        return
    from dali_saliencymix._native.plugin import load_plugin

    try:
        load_plugin()
    except (ImportError, OSError, RuntimeError):
        pass  # raised again, with its message, where an operator is used


def __getattr__(name: str) -> Any:
    module = _DALI_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'dali_saliencymix' has no attribute {name!r}")
    if not HAVE_DALI:
        raise ImportError(
            f"dali_saliencymix.{name} needs NVIDIA DALI: pip install 'dali-saliencymix[cuda12]' "
            "(or [cuda13]; see the README's install section). The kernels "
            "(dali_saliencymix.saliency_map) and dali_saliencymix.torch work without it."
        )
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


_load_plugin_if_it_matches()

__all__ = [
    "HAVE_DALI",
    "MixConfig",
    "__version__",
    "build_info",
    "fine_grained_saliency",
    "load_plugin",
    "mix",
    "saliency_map",
    "saliency_mix",
]
