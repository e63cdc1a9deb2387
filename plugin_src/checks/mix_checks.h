// Validation of SaliencyMix options and arguments: the one place that says what is valid, used by
// the C API and the DALI operators. Every function returns an empty string when the value is
// valid, else a sentence naming the argument (and the sample, and the class) with what was
// expected and what came.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "../kernels/saliency_mix_batch.h"
#include "image_checks.h"

namespace dsm {

/// A number as %g writes it with 9 significant digits (nan, inf and -inf included).
inline std::string FormatNumber(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", v);
  return text;
}

/// `mode` is "elem" or "batch"; sets batch_mode.
inline std::string CheckMixMode(std::string_view mode, bool &batch_mode) {
  if (mode != "elem" && mode != "batch")
    return "mode must be \"elem\" or \"batch\", got \"" + std::string(mode) + "\"";
  batch_mode = mode == "batch";
  return {};
}

/// The options of a SaliencyMix: at least one class, smoothing in [0, 1).
inline std::string CheckMixOptions(int64_t num_classes, double label_smoothing) {
  if (num_classes < 1) return "num_classes must be at least 1, got " + std::to_string(num_classes);
  if (num_classes > INT32_MAX)
    return "num_classes must be at most 2^31 - 1, got " + std::to_string(num_classes);
  if (!(label_smoothing >= 0.0 && label_smoothing < 1.0))
    return "label_smoothing must be in [0, 1), got " + FormatNumber(label_smoothing);
  return {};
}

/// An integer class id: 0 <= id < num_classes.
inline std::string CheckClassId(int64_t sample, int64_t id, int64_t num_classes) {
  if (id < 0 || id >= num_classes)
    return "labels: sample " + std::to_string(sample) + " has class " + std::to_string(id) +
           ", expected 0 <= label < num_classes = " + std::to_string(num_classes);
  return {};
}

/// A soft label vector (host memory): every value finite and >= 0.
inline std::string CheckSoftLabel(int64_t sample, const float *values, int64_t num_classes) {
  for (int64_t c = 0; c < num_classes; ++c) {
    const float v = values[c];
    if (!(std::isfinite(v) && v >= 0.0f))
      return "labels: sample " + std::to_string(sample) + ", class " + std::to_string(c) +
             " is " + FormatNumber(v) + ", expected a finite value >= 0 in soft labels";
  }
  return {};
}

/// The pair of a sample: an index in [0, num_samples).
inline std::string CheckSource(int64_t sample, int64_t source, int64_t num_samples) {
  if (source < 0 || source >= num_samples)
    return "source: sample " + std::to_string(sample) + " pairs with " + std::to_string(source) +
           ", expected an index in [0, " + std::to_string(num_samples) + ")";
  return {};
}

/// A sampled target weight: in [0, 1].
inline std::string CheckLam(int64_t sample, double lam) {
  if (!(lam >= 0.0 && lam <= 1.0))
    return "lam: sample " + std::to_string(sample) + " is " + FormatNumber(lam) +
           ", expected a value in [0, 1]";
  return {};
}

/// Checks a whole batch: the image size, the options, each sample's label (class id in range,
/// or soft values when `soft_labels_on_host`: device vectors cannot be read here) and draws.
/// Image and output pointers are the caller's to check.
inline std::string CheckMixArguments(const MixConfig &config, const MixSample *samples,
                                     bool soft_labels_on_host) {
  const std::string shape_error = CheckImageShape(config.height, config.width, config.channels);
  if (!shape_error.empty()) return "images: " + shape_error;
  if (config.num_samples < 1)
    return "expected at least 1 sample, got " + std::to_string(config.num_samples);
  std::string error = CheckMixOptions(config.num_classes, config.label_smoothing);
  if (!error.empty()) return error;
  for (int i = 0; i < config.num_samples; ++i) {
    const MixSample &s = samples[i];
    if (!s.soft_label)
      error = CheckClassId(i, s.label_id, config.num_classes);
    else if (soft_labels_on_host)
      error = CheckSoftLabel(i, s.soft_label, config.num_classes);
    if (error.empty()) error = CheckSource(i, s.source, config.num_samples);
    if (error.empty()) error = CheckLam(i, s.lam);
    if (!error.empty()) return error;
  }
  return {};
}

}  // namespace dsm
