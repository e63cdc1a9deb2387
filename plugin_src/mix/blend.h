// MixUp's pixel, shared by the CPU and CUDA paths (docs/algorithm.md, "The mixing family").
#pragma once

#include <cmath>
#include <cstdint>

#include "../common/exact_float.h"

namespace dsm {

/// One MixUp pixel: round-half-to-even(float(a) * lam + float(b) * rest) as uint8, float32
/// throughout, no FMA, with rest = 1.0f - lam (a: target, b: source). timm's FastCollateMixup
/// (np.rint of the float32 blend) bit for bit. The value lies in [0, 255] (a convex combination
/// of two bytes, within float32 rounding), so the cast keeps it.
DSM_HD uint8_t BlendPixel(uint8_t a, uint8_t b, float lam, float rest) {
#if defined(__CUDA_ARCH__)
  const float v = __fadd_rn(__fmul_rn(static_cast<float>(a), lam),
                            __fmul_rn(static_cast<float>(b), rest));
  return static_cast<uint8_t>(__float2int_rn(v));  // round to nearest, ties to even
#else
  const float v = static_cast<float>(a) * lam + static_cast<float>(b) * rest;  // no FMA
  return static_cast<uint8_t>(std::nearbyint(v));  // default rounding: nearest, ties to even
#endif
}

}  // namespace dsm
