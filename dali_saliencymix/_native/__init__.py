"""The compiled side: locating the libraries, loading the DALI plugin, the C API's binding.

- :mod:`.libs`: where ``libdali_saliencymix.so`` and ``libdsm_kernels.so`` are, and what they
  were built with (``build_info``);
- :mod:`.plugin`: loading the plugin into DALI after checking it matches the installed DALI;
- :mod:`.c_api`: the ctypes binding of the kernels' C API (no DALI).
"""
