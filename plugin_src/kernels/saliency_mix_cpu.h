// SaliencyMix on the CPU, step by step (peak -> box -> paste -> labels), one sample per call so
// that callers (DALI's thread pool, the C API) choose the parallelism.
#pragma once

#include <cstdint>

#include "mix_math.h"

namespace dsm {

/// (y, x) of the first maximum of an image's saliency map (SaliencyMapCpu's argmax).
void SaliencyPeakCpu(const uint8_t *image, int height, int width, int channels, int32_t *peak_yx);

/// The box and the target weight lam of one pair. Not applied (coin flip false): empty box,
/// lam = 1. `correct_lam`: lam = 1 - box area / image area, else the sampled lam.
struct MixDecision {
  Box box;
  float lam = 1.0f;
};
MixDecision DecideMix(int height, int width, float sampled_lam, bool apply, const int32_t *peak_yx,
                      bool correct_lam);

/// out = target, with the box region taken from source at the same place. HWC uint8, all of one
/// size; out must not alias the inputs.
void PasteCpu(const uint8_t *target, const uint8_t *source, uint8_t *out, int height, int width,
              int channels, const Box &box);

/// Soft label [num_classes] of a pair of integer class ids, with timm's label smoothing.
void MixClassLabelsCpu(int target_label, int source_label, int num_classes, float smoothing,
                       float lam, float *out);

}  // namespace dsm
