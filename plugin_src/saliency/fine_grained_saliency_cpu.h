// Fine-grained static saliency on the CPU: one image per call, thread-safe (scratch is per thread).
#pragma once

#include <cstdint>

namespace dsm {

/// Where the saliency map goes: at most one of `u8` (OpenCV's map times 255) or `f32` (OpenCV's
/// float32 output, k/255) is non-null (neither: the peak alone). Both are H*W, row-major.
struct SaliencyOutput {
  uint8_t *u8 = nullptr;
  float *f32 = nullptr;
};

/// Computes OpenCV's StaticSaliencyFineGrained map of one image, bit for bit.
///
/// `image` is uint8, HWC with `channels` 3 (RGB order) or 1 (gray), contiguous, of a shape that
/// CheckImageShape (checks/image_checks.h) accepts. Throws std::bad_alloc when its per-thread
/// scratch memory cannot grow.
/// Returns the row-major index of the first maximum of the map (what np.argmax returns;
/// PeakPosition gives its (y, x)).
int64_t SaliencyMapCpu(const uint8_t *image, int height, int width, int channels,
                       SaliencyOutput out);

}  // namespace dsm
