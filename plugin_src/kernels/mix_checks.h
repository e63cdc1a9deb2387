// Validation of SaliencyMix arguments, shared by the C API and the DALI operators.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image_checks.h"
#include "saliency_mix_cpu.h"

namespace dsm {

/// Checks the image size, the class count, the smoothing, the class ids (when `label_ids` is
/// not null) and the draws (source index, lam in [0, 1]); fills `draws`. Returns an empty string
/// when all is valid, else a sentence naming the argument, the sample, what was expected and
/// what came.
inline std::string CheckMixArguments(int64_t num_samples, int64_t height, int64_t width,
                                     int64_t channels, const int32_t *label_ids,
                                     int64_t num_classes, float label_smoothing,
                                     const int32_t *source, const float *lam,
                                     const uint8_t *apply, std::vector<MixDraw> &draws) {
  const std::string shape_error = CheckImageShape(height, width, channels);
  if (!shape_error.empty()) return "images: " + shape_error;
  if (num_samples < 1) return "expected at least 1 sample, got " + std::to_string(num_samples);
  if (!source || !lam || !apply) return "source, lam and apply must not be NULL";
  if (num_classes < 1) return "num_classes must be at least 1, got " + std::to_string(num_classes);
  if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f))
    return "label_smoothing must be in [0, 1), got " + std::to_string(label_smoothing);
  draws.resize(num_samples);
  for (int64_t i = 0; i < num_samples; ++i) {
    const std::string sample = "sample " + std::to_string(i);
    if (label_ids && (label_ids[i] < 0 || label_ids[i] >= num_classes))
      return "labels: " + sample + " has class " + std::to_string(label_ids[i]) +
             ", expected 0 <= label < num_classes = " + std::to_string(num_classes);
    if (source[i] < 0 || source[i] >= num_samples)
      return "source: " + sample + " pairs with " + std::to_string(source[i]) +
             ", expected an index in [0, " + std::to_string(num_samples) + ")";
    if (!(lam[i] >= 0.0f && lam[i] <= 1.0f))
      return "lam: " + sample + " is " + std::to_string(lam[i]) + ", expected a value in [0, 1]";
    draws[i] = {source[i], lam[i], apply[i] != 0};
  }
  return {};
}

}  // namespace dsm
