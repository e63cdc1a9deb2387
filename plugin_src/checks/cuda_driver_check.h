// Checks at run time that the installed NVIDIA driver can run code from this build's toolkit.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "cuda_version.h"

namespace dsm {

/// Empty when the driver runs the CUDA version this code was built with (DriverRunsToolkit:
/// the same major, any minor, or a newer major); else a message naming both versions and what
/// to do.
inline std::string CheckCudaDriver() {
  int driver = 0;
  const cudaError_t err = cudaDriverGetVersion(&driver);
  if (err != cudaSuccess || driver == 0)
    return "no NVIDIA driver found (cudaDriverGetVersion: " +
           std::string(cudaGetErrorString(err)) + "); the GPU operator needs a GPU and a driver "
           "for CUDA " + CudaVersionText(CUDART_VERSION / 1000 * 1000) +
           " or newer; use device='cpu' otherwise";
  return DriverVersionError(driver, CUDART_VERSION);
}

}  // namespace dsm
