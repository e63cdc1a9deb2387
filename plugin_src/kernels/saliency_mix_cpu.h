// SaliencyMix on the CPU, step by step (peak -> box -> paste -> labels), one sample per call so
// that callers (DALI's thread pool, the C API) choose the parallelism.
#pragma once

#include <cstdint>

#include "mix_math.h"

namespace dsm {

/// The random draws of one sample: its pair (source index), sampled lam and coin flip.
struct MixDraw {
  int32_t source = 0;
  float lam = 1.0f;
  bool apply = false;
};

/// The lam and coin flip that govern sample i: its own (elem mode), or sample 0's (batch mode).
inline MixDraw GoverningDraw(const MixDraw *draws, int i, bool batch_mode) {
  MixDraw d = draws[i];
  if (batch_mode) {
    d.lam = draws[0].lam;
    d.apply = draws[0].apply;
  }
  return d;
}

/// Index of the image whose saliency peak centres sample i's box: its own source (elem mode)
/// or the source of sample 0 (batch mode).
inline int PeakImage(const MixDraw *draws, int i, bool batch_mode) {
  return batch_mode ? draws[0].source : draws[i].source;
}

/// needed[j] = 1 for each image j whose saliency peak some applied pair uses.
void ImagesNeedingPeaks(const MixDraw *draws, int num_samples, bool batch_mode, uint8_t *needed);

/// (y, x) of the first maximum of an image's saliency map (SaliencyMapCpu's argmax).
void SaliencyPeakCpu(const uint8_t *image, int height, int width, int channels, int32_t *peak_yx);

/// out = target, with the box region taken from source at the same place. HWC uint8, all of one
/// size; out must not alias the inputs.
void PasteCpu(const uint8_t *target, const uint8_t *source, uint8_t *out, int height, int width,
              int channels, const Box &box);

/// Soft label [num_classes] of a pair of integer class ids, with timm's label smoothing.
void MixClassLabelsCpu(int target_label, int source_label, int num_classes, float smoothing,
                       float lam, float *out);

/// Soft label [num_classes] of a pair of soft (or one-hot) label vectors, smoothed likewise.
void MixSoftLabelsCpu(const float *target, const float *source, int num_classes, float smoothing,
                      float lam, float *out);

}  // namespace dsm
