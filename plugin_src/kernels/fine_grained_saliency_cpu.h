// Fine-grained static saliency on the CPU: one image per call, thread-safe (scratch is per thread).
#pragma once

#include <cstdint>

namespace dsm {

/// Where the saliency map goes: exactly one of `u8` (OpenCV's map times 255) or `f32` (OpenCV's
/// float32 output, k/255) is non-null. Both are H*W, row-major.
struct SaliencyOutput {
  uint8_t *u8 = nullptr;
  float *f32 = nullptr;
};

/// Computes OpenCV's StaticSaliencyFineGrained map of one image, bit for bit.
///
/// `image` is uint8, HWC with `channels` 3 (RGB order) or 1 (gray), contiguous; height, width >= 1.
/// Returns the row-major index of the first maximum of the map (what np.argmax returns).
int64_t SaliencyMapCpu(const uint8_t *image, int height, int width, int channels,
                       SaliencyOutput out);

/// The steps of SaliencyMapCpu, exposed for tests and for the CUDA checks.
namespace detail {
/// Gray conversion and the two 3x3 Gaussian blurs; `gray` is H*W.
void SmoothedGrayCpu(const uint8_t *image, int height, int width, int channels, uint8_t *gray);
/// float32 integral image of `gray`, H+1 rows of W+1 values `stride` floats apart, accumulated
/// in OpenCV's order.
void IntegralCpu(const uint8_t *gray, int height, int width, float *integral, int stride);
}  // namespace detail

}  // namespace dsm
