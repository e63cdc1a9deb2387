"""Loading the DALI operator plugin, after checking it matches the installed DALI."""

from __future__ import annotations

from functools import lru_cache

from dali_saliencymix._native.libs import PLUGIN_NAME, build_info, check_dali_version, library_path


@lru_cache(maxsize=1)
def load_plugin() -> str:
    """Load the plugin into DALI once; returns its path. Raises ImportError with a remedy."""
    import nvidia.dali as dali
    import nvidia.dali.plugin_manager as plugin_manager

    info = build_info()
    check_dali_version(
        dali.__version__,
        str(info["dali_version"]),
        installed_cuda=str(getattr(dali, "__cuda_version__", "")),
        built_cuda_major=str(info["dali_cuda_major"]),
        distribution=str(info["dali_distribution"]),
    )
    path = str(library_path(PLUGIN_NAME))
    plugin_manager.load_library(path)
    return path
