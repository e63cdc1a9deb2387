// Floating-point operations that round the same on the host and the device, for the saliency and
// the mixing family's arithmetic: DSM_HD marks a function for both; each operation below is one
// IEEE operation rounded to nearest, through its _rn intrinsic on the device (so that nvcc can
// neither contract nor approximate it) and the plain operator on the host (-ffp-contract=off
// -fno-fast-math, CMakeLists.txt). Each operation is written out, one intrinsic and one
// operator apiece, although they share a shape: a macro that generated them would hide which
// intrinsic rounds which operation.
#pragma once

#include <cmath>

#if defined(__CUDACC__)
#define DSM_HD __host__ __device__ __forceinline__
#else
#define DSM_HD inline
#endif

namespace dsm {

DSM_HD float AddF(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

DSM_HD float SubF(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}

DSM_HD float DivF(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

DSM_HD double MulD(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

DSM_HD double DivD(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}

DSM_HD float MulF(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

DSM_HD float SqrtF(float a) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(a);
#else
  return std::sqrt(a);  // IEEE correctly rounded (no fast-math)
#endif
}

DSM_HD double SqrtD(double a) {
#if defined(__CUDA_ARCH__)
  return __dsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
}

}  // namespace dsm
