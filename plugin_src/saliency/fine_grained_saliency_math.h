// Per-pixel arithmetic of OpenCV's StaticSaliencyFineGrained, shared by the CPU and CUDA paths.
//
// Every function here is a transcription of one step of
// opencv_contrib/modules/saliency/src/staticSaliencyFineGrained.cpp (docs/algorithm.md,
// "Fine-grained saliency", steps 1 to 8), with the C++ evaluation order and types made
// explicit, so that the CPU tests cover the exact arithmetic that the GPU runs. On the device,
// float and double operations use round-to-nearest intrinsics so that no contraction or
// approximate division can change a result.
#pragma once

#include <cstdint>

#include "../common/exact_float.h"

namespace dsm {

/// Number of centre-surround scales.
constexpr int kNumScales = 6;

/// Half window size of scale `i` (OpenCV's `neighborhoods`: 12, 24, 48, 28, 56, 112).
DSM_HD constexpr int ScaleRadius(int i) { return i < 3 ? (12 << i) : (28 << (i - 3)); }

/// BGR2GRAY of OpenCV, fixed point (exact for all 2^24 colours), from RGB channel order.
DSM_HD uint8_t RgbToGray(uint32_t r, uint32_t g, uint32_t b) {
  return static_cast<uint8_t>((3735u * b + 19235u * g + 9798u * r + 16384u) >> 15);
}

/// OpenCV's BORDER_REFLECT_101 for an index at most one step outside [0, n).
/// An axis of length 1 maps every index to 0 (that axis is not blurred).
DSM_HD int Reflect101(int i, int n) {
  if (n == 1) return 0;
  if (i < 0) return -i;
  if (i >= n) return 2 * n - 2 - i;
  return i;
}

/// Rounds the 3x3 Gaussian [1 2 1]^T [1 2 1] weighted sum (total weight 16) like OpenCV's
/// bit-exact 8-bit GaussianBlur: round half up.
DSM_HD uint8_t RoundBlur(uint32_t weighted_sum) {
  return static_cast<uint8_t>((weighted_sum + 8u) >> 4);
}

/// Box sum from four corners of the float32 integral image, in OpenCV's order:
/// ((I[y2][x2] + I[y1][x1]) - I[y2][x1]) - I[y1][x2].
DSM_HD float WindowSum(float i_y2x2, float i_y1x1, float i_y2x1, float i_y1x2) {
  return SubF(SubF(AddF(i_y2x2, i_y1x1), i_y2x1), i_y1x2);
}

/// Surround mean: (sum - centre) / (area - 1), float32 throughout.
DSM_HD float SurroundMean(float window_sum, int centre, int area) {
  return DivF(SubF(window_sum, static_cast<float>(centre)), static_cast<float>(area - 1));
}

/// `(uchar)x` for x > 0, else 0 (NaN gives 0). OpenCV's values stay below 256 here.
DSM_HD uint32_t PositivePartU8(float x) {
  return x > 0.0f ? static_cast<uint32_t>(static_cast<int>(x)) & 0xFFu : 0u;
}

/// On and off responses of one pixel at one scale, as the uint8 values OpenCV stores.
DSM_HD void OnOff(int centre, float surround_mean, uint32_t &on, uint32_t &off) {
  const float c = static_cast<float>(centre);
  on = PositivePartU8(SubF(c, surround_mean));
  off = PositivePartU8(SubF(surround_mean, c));
}

/// `(uchar)d` for a double as OpenCV's x86 build computes it: truncate to int32 and keep the low
/// byte. A NaN (0/0 on a flat map) converts to INT_MIN there, whose low byte is 0.
DSM_HD uint8_t TruncateToU8(double d) {
  if (!(d == d)) return 0;  // NaN
  return static_cast<uint8_t>(static_cast<uint32_t>(static_cast<int>(d)) & 0xFFu);
}

/// mixScales: (uchar)(255. * (float)(sum / (float)max_sum)).
DSM_HD uint8_t NormalizeScaleSum(uint32_t sum, uint32_t max_sum) {
  const float q = DivF(static_cast<float>(sum), static_cast<float>(max_sum));
  return TruncateToU8(MulD(255.0, static_cast<double>(q)));
}

/// mixOnOff: (uchar)(255. * (float)(on + off) / (float)max_value), evaluated in double.
DSM_HD uint8_t MixOnOff(uint32_t on8, uint32_t off8, uint32_t max_value) {
  const double num = MulD(255.0, static_cast<double>(static_cast<float>(on8 + off8)));
  return TruncateToU8(DivD(num, static_cast<double>(static_cast<float>(max_value))));
}

/// The largest mixed value M = max(max On8, max Off8), from the two scale-sum maxima. On8 is
/// monotone in the sum, so its maximum is NormalizeScaleSum(max, max).
DSM_HD uint32_t MixMaximum(uint32_t max_sum_on, uint32_t max_sum_off) {
  const uint32_t on = NormalizeScaleSum(max_sum_on, max_sum_on);
  const uint32_t off = NormalizeScaleSum(max_sum_off, max_sum_off);
  return on > off ? on : off;
}

/// OpenCV's float32 output: k * (1.0f / 255.0f) (convertTo with a float scale).
DSM_HD float SaliencyToFloat(uint32_t k) {
  constexpr float kScale = 1.0f / 255.0f;
#if defined(__CUDA_ARCH__)
  return __fmul_rn(static_cast<float>(k), kScale);
#else
  return static_cast<float>(k) * kScale;
#endif
}

/// (y, x) of the row-major index of a pixel in an image of `width` columns.
DSM_HD void PeakPosition(int64_t index, int width, int32_t *yx) {
  yx[0] = static_cast<int32_t>(index / width);
  yx[1] = static_cast<int32_t>(index % width);
}

/// Clamped window corner along one axis: the window spans [p - n + 1, p + n + 1) clipped to
/// [0, len].
DSM_HD int WindowLo(int p, int n, int len) {
  const int v = p - n + 1;
  return v < 0 ? 0 : (v > len ? len : v);
}
DSM_HD int WindowHi(int p, int n, int len) {
  const int v = p + n + 1;
  return v < 0 ? 0 : (v > len ? len : v);
}

}  // namespace dsm
