// Which NVIDIA drivers run this build's CUDA code: the comparison of CUDA versions alone, with no
// CUDA header, so that it is tested without a GPU (tests/native/cuda_version_test.cc).
// Versions are written as cudaDriverGetVersion and CUDART_VERSION give them: 1000 * major +
// 10 * minor (13010 for 13.1).
#pragma once

#include <string>

namespace dsm {

/// "13.1" for 13010.
inline std::string CudaVersionText(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

/// Whether a driver for CUDA `driver` runs code built with the CUDA `toolkit` toolkit: a driver
/// of the same major version, whatever its minor (CUDA's minor-version compatibility: a 13.1
/// build runs on a 13.0 driver), or of a newer major. (Minor-version compatibility covers the
/// machine code; PTX that an older driver would have to compile is refused at launch, with its
/// own error.)
constexpr bool DriverRunsToolkit(int driver, int toolkit) {
  return driver / 1000 >= toolkit / 1000;
}

/// Empty when DriverRunsToolkit, else a message naming both versions and what to do.
inline std::string DriverVersionError(int driver, int toolkit) {
  if (DriverRunsToolkit(driver, toolkit)) return {};
  return "the NVIDIA driver supports CUDA " + CudaVersionText(driver) +
         ", but dali-saliencymix was built with the CUDA " + CudaVersionText(toolkit) +
         " toolkit; update the driver, or rebuild the package with an older toolkit "
         "(CUDACXX=/path/to/nvcc pip install --force-reinstall .)";
}

}  // namespace dsm
