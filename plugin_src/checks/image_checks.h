// Validation of image shapes, shared by the C API and the DALI operators.
#pragma once

#include <cstdint>
#include <string>

namespace dsm {

/// Widest image whose saliency is exact: every row sum of the integral image, at most
/// 255 * width, stays below 2^24, so it is an exact float32 integer however it is accumulated.
/// OpenCV accumulates a row in float32 (in SIMD chunks whose width depends on the machine), the
/// kernels in integers; past this width OpenCV's row sums round and no single answer exists.
/// 255 * 65,793 = 2^24 - 1. (The column sums do round past 2^24; both OpenCV and the kernels add
/// them in float32 top to bottom, which the kernels reproduce.)
constexpr int64_t kMaxWidth = 65793;

/// At most 2^31 - 1 pixels: per-image indices (the peak, the CUDA argmax key) are 31-bit. With
/// the width limit this also keeps every int expression of the kernels over one row or one
/// window far from overflow.
constexpr int64_t kMaxPixels = (int64_t{1} << 31) - 1;

/// Tallest image: 2^30 rows. The kernels index rows with 32-bit ints and go past the last row by
/// a little: a window corner (row + 113), a row count (height + 1), a grid-strided row index
/// (row + up to 4,096), half a box side plus one ((side + 1) / 2). Below 2^30 rows all of them
/// stay far below 2^31. Only images one pixel wide can pass the pixel limit and not this one.
constexpr int64_t kMaxHeight = int64_t{1} << 30;

/// Returns an empty string when (height, width, channels) is an image the saliency kernels
/// accept, else a sentence saying what was expected and what came. Every accepted shape is
/// computed exactly (docs/algorithm.md, "Limits").
inline std::string CheckImageShape(int64_t height, int64_t width, int64_t channels) {
  const std::string got = "got shape (" + std::to_string(height) + ", " + std::to_string(width) +
                          ", " + std::to_string(channels) + ")";
  if (height < 1 || width < 1)
    return "expected a non-empty image (height and width at least 1), " + got;
  if (channels != 1 && channels != 3)
    return "expected 1 (gray) or 3 (RGB) channels in HWC layout, " + got +
           (height == 3 || height == 1 ? "; this looks like CHW: transpose to HWC first" : "");
  if (width > kMaxWidth)
    return "expected a width of at most 65793 pixels (wider rows make OpenCV's float32 integral "
           "image round, so its saliency has no exact value), " + got;
  if (height > kMaxPixels / width)
    return "expected at most 2^31 - 1 pixels (height * width), " + got;
  if (height > kMaxHeight)
    return "expected a height of at most 1073741824 (2^30) rows (taller images overflow the "
           "kernels' 32-bit row arithmetic), " + got;
  return {};
}

}  // namespace dsm
