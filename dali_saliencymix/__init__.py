"""SaliencyMix (saliency-guided CutMix) as an NVIDIA DALI operator plugin.

Importing the package loads the plugin, after which the operators are available as
``nvidia.dali.fn.fine_grained_saliency`` and through the wrappers here.
"""

from __future__ import annotations

from dali_saliencymix._libs import build_info
from dali_saliencymix._plugin import load_plugin
from dali_saliencymix.kernels import saliency_map
from dali_saliencymix.saliency import fine_grained_saliency

__version__ = "0.1.0"

load_plugin()

__all__ = ["__version__", "build_info", "fine_grained_saliency", "load_plugin", "saliency_map"]
