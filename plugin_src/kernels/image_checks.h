// Validation of image shapes shared by the C API and the DALI operators.
#pragma once

#include <cstdint>
#include <string>

namespace dsm {

/// Returns an empty string when (height, width, channels) is an image the saliency kernels
/// accept, else a sentence saying what was expected and what came.
inline std::string CheckImageShape(int64_t height, int64_t width, int64_t channels) {
  const std::string got = "got shape (" + std::to_string(height) + ", " + std::to_string(width) +
                          ", " + std::to_string(channels) + ")";
  if (height < 1 || width < 1)
    return "expected a non-empty image (height and width at least 1), " + got;
  if (channels != 1 && channels != 3)
    return "expected 1 (gray) or 3 (RGB) channels in HWC layout, " + got +
           (height == 3 || height == 1 ? "; this looks like CHW: transpose to HWC first" : "");
  if (height >= (int64_t{1} << 30) || width >= (int64_t{1} << 30) ||
      height * width >= (int64_t{1} << 31))
    return "expected fewer than 2^31 pixels, " + got;
  return {};
}

}  // namespace dsm
