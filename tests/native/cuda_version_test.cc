// Which NVIDIA drivers run which builds (plugin_src/checks/cuda_version.h), checked without a GPU:
// compiled and run by tests/test_native_checks.py. Exit status 0 when every check holds; each
// failed check is printed.
#include <cstdio>
#include <string>

#include "../../plugin_src/checks/cuda_version.h"

namespace {

int failures = 0;

void Check(bool ok, const char *what) {
  if (!ok) {
    std::printf("FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  using dsm::CudaVersionText;
  using dsm::DriverRunsToolkit;
  using dsm::DriverVersionError;
  // Versions as cudaDriverGetVersion and CUDART_VERSION give them.
  Check(CudaVersionText(13010) == "13.1", "13010 is CUDA 13.1");
  Check(CudaVersionText(12090) == "12.9", "12090 is CUDA 12.9");
  Check(CudaVersionText(13000) == "13.0", "13000 is CUDA 13.0");

  // Minor-version compatibility: a newer minor of the driver's major runs.
  Check(DriverRunsToolkit(13000, 13010), "a 13.1 build runs on a 13.0 driver");
  Check(DriverVersionError(13000, 13010).empty(), "a 13.1 build on a 13.0 driver: no message");
  Check(DriverRunsToolkit(12000, 12090), "a 12.9 build runs on a 12.0 driver");
  Check(DriverRunsToolkit(13000, 13000), "a 13.0 build runs on a 13.0 driver");
  // Newer drivers run older builds.
  Check(DriverRunsToolkit(13000, 12040), "a 12.4 build runs on a 13.0 driver");
  Check(DriverRunsToolkit(14000, 13010), "a 13.1 build runs on a 14.0 driver");
  // An older major is refused, with the message naming both versions.
  Check(!DriverRunsToolkit(12090, 13000), "a 13.0 build is refused on a 12.9 driver");
  Check(!DriverRunsToolkit(12090, 13010), "a 13.1 build is refused on a 12.9 driver");
  Check(DriverVersionError(12090, 13000) ==
            "the NVIDIA driver supports CUDA 12.9, but dali-saliencymix was built with the CUDA "
            "13.0 toolkit; update the driver, or rebuild the package with an older toolkit "
            "(CUDACXX=/path/to/nvcc pip install --force-reinstall .)",
        "the refusal of a 13.0 build on a 12.9 driver says both versions and what to do");

  static_assert(dsm::DriverRunsToolkit(13000, 13010), "usable in constant expressions");
  if (failures == 0) std::printf("all CUDA version checks hold\n");
  return failures == 0 ? 0 : 1;
}
