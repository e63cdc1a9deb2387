// Checks at run time that the installed NVIDIA driver can run code from this build's toolkit.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

namespace dsm {

/// Empty when the driver supports the CUDA version this code was built with; else a message
/// naming both versions and what to do.
inline std::string CheckCudaDriver() {
  int driver = 0;
  const cudaError_t err = cudaDriverGetVersion(&driver);
  auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  if (err != cudaSuccess || driver == 0)
    return "no NVIDIA driver found (cudaDriverGetVersion: " +
           std::string(cudaGetErrorString(err)) + "); the GPU operator needs a GPU and a driver "
           "for CUDA " + version(CUDART_VERSION) + " or newer; use device='cpu' otherwise";
  if (driver < CUDART_VERSION)
    return "the NVIDIA driver supports CUDA " + version(driver) +
           ", but dali-saliencymix was built with the CUDA " + version(CUDART_VERSION) +
           " toolkit; update the driver, or rebuild the package with an older toolkit "
           "(CUDACXX=/path/to/nvcc pip install --force-reinstall .)";
  return {};
}

}  // namespace dsm
