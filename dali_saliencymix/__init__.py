"""SaliencyMix (saliency-guided CutMix) as an NVIDIA DALI operator plugin.

Importing the package loads the plugin (when nvidia-dali is installed), after which the operators
are available as ``nvidia.dali.fn.fine_grained_saliency`` and through the wrappers here. Without
DALI, the kernels stay usable on numpy arrays (``saliency_map``); the DALI wrappers then raise an
ImportError that says what to install.
"""

from __future__ import annotations

import importlib.util

from dali_saliencymix._libs import build_info
from dali_saliencymix.kernels import saliency_map

__version__ = "0.1.0"

HAVE_DALI = importlib.util.find_spec("nvidia") is not None and (
    importlib.util.find_spec("nvidia.dali") is not None
)

if HAVE_DALI:
    from dali_saliencymix._plugin import load_plugin
    from dali_saliencymix.mix import saliency_mix
    from dali_saliencymix.saliency import fine_grained_saliency

    load_plugin()
else:

    def _needs_dali(*_args: object, **_kwargs: object) -> None:
        raise ImportError(
            "dali_saliencymix: this needs NVIDIA DALI: pip install nvidia-dali-cuda120==2.4.0 "
            "(the version the plugin was built against)"
        )

    load_plugin = fine_grained_saliency = saliency_mix = _needs_dali  # type: ignore[assignment]

__all__ = [
    "HAVE_DALI",
    "__version__",
    "build_info",
    "fine_grained_saliency",
    "load_plugin",
    "saliency_map",
    "saliency_mix",
]
