// Error propagation for the CUDA kernels' host code: every CUDA call's result is checked.
#pragma once

#include <cuda_runtime_api.h>

/// Evaluates a CUDA runtime call and returns its error from the enclosing function (which returns
/// cudaError_t) unless it is cudaSuccess.
#define DSM_CUDA_TRY(expr)                        \
  do {                                            \
    const cudaError_t dsm_err_ = (expr);          \
    if (dsm_err_ != cudaSuccess) return dsm_err_; \
  } while (0)
