// The GPU operators' start: they refuse to be built without a driver that runs this build's
// CUDA code (checks/cuda_driver_check.h), with a message naming the operator.
#pragma once

#include <string>

#include "../checks/cuda_driver_check.h"
#include "dali/core/error_handling.h"

namespace dali {

/// Fails, naming `op_name` (e.g. "fn.saliency_mix"), unless the driver can run this build.
inline void EnforceCudaDriver(const char *op_name) {
  const std::string driver_error = dsm::CheckCudaDriver();
  DALI_ENFORCE(driver_error.empty(), make_string(op_name, " (device='gpu'): ", driver_error));
}

}  // namespace dali
