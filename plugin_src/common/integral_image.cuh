// The integral image of a uint8 image on the GPU, in two launches: row prefix sums (one warp a
// row), then the column accumulation (one thread a column, top to bottom). Shared by the
// saliency kernels (float32, of the blurred gray image, in OpenCV's order) and the mixing family
// (int64, of a saliency map). An integral image has (H + 1) x (W + 1) entries, row stride W + 1,
// integral[y][x] = the sum of image[0..y-1][0..x-1].
#pragma once

#include <cstdint>

#include "exact_float.h"

namespace dsm {

/// Rows 1..H of the integral image: integral[y + 1][0] = 0 and integral[y + 1][x + 1] =
/// image[y][0] + ... + image[y][x]. One warp a row, the rows grid-strided over the warps of the
/// grid's x dimension; every thread of the block calls it. A row sums to at most 255 * 65,793 <
/// 2^24 (checks/image_checks.h), so the uint32 sums, and their conversion to `Out`, are exact.
template <typename Out>
__device__ __forceinline__ void RowPrefixSums(const uint8_t *image, Out *integral, int height,
                                              int width) {
  const int64_t stride = static_cast<int64_t>(width) + 1;
  const int lane = threadIdx.x & 31;
  const int warps_per_block = blockDim.x / 32;
  for (int y = blockIdx.x * warps_per_block + threadIdx.x / 32; y < height;
       y += gridDim.x * warps_per_block) {
    const uint8_t *row = image + static_cast<int64_t>(y) * width;
    Out *out = integral + (static_cast<int64_t>(y) + 1) * stride;
    if (lane == 0) out[0] = Out(0);
    uint32_t carry = 0;
    for (int x0 = 0; x0 < width; x0 += 32) {
      const int x = x0 + lane;
      uint32_t v = x < width ? row[x] : 0u;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const uint32_t t = __shfl_up_sync(0xFFFFFFFFu, v, o);
        if (lane >= o) v += t;
      }
      v += carry;
      if (x < width) out[x + 1] = static_cast<Out>(v);
      carry = __shfl_sync(0xFFFFFFFFu, v, 31);
    }
  }
}

/// One step of the column accumulation: float32, rounded to nearest (OpenCV's order), or int64
/// (exact).
__device__ __forceinline__ float ColumnAdd(float acc, float v) { return AddF(acc, v); }
__device__ __forceinline__ int64_t ColumnAdd(int64_t acc, int64_t v) { return acc + v; }

/// Completes the integral image from RowPrefixSums' rows: integral[0][x] = 0 and
/// integral[y + 1][x] = integral[y][x] + row prefix [y][x], top to bottom. One thread a column,
/// the columns grid-strided over the grid's x dimension.
template <typename T>
__device__ __forceinline__ void ColumnPrefixSums(T *integral, int height, int width) {
  const int64_t stride = static_cast<int64_t>(width) + 1;
  for (int64_t x = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; x < stride;
       x += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    T acc = T(0);
    integral[x] = T(0);
    T *p = integral + x;
    for (int y = 1; y <= height; ++y) {
      p += stride;
      acc = ColumnAdd(acc, *p);
      *p = acc;
    }
  }
}

}  // namespace dsm
