// Validation of the mixing family's options and arguments: the one place that says what is
// valid, used by the C API and the DALI operators. Every function returns an empty string when
// the value is valid, else a sentence naming the argument (and the sample, and the class) with
// what was expected and what came.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "../mix/plan.h"
#include "image_checks.h"

namespace dsm {

/// A number as %g writes it with 9 significant digits (nan, inf and -inf included).
inline std::string FormatNumber(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", v);
  return text;
}

/// `mode` is "elem", "batch" or "pair"; sets `mode_value`.
inline std::string CheckMixMode(std::string_view mode, MixMode &mode_value) {
  if (mode == "elem")
    mode_value = MixMode::kElem;
  else if (mode == "batch")
    mode_value = MixMode::kBatch;
  else if (mode == "pair")
    mode_value = MixMode::kPair;
  else
    return "mode must be \"elem\", \"batch\" or \"pair\", got \"" + std::string(mode) + "\"";
  return {};
}

/// The mode as the C API gives it: 0 elem, 1 batch, 2 pair.
inline std::string CheckMixModeCode(int64_t code, MixMode &mode_value) {
  if (code < 0 || code > 2)
    return "mode must be 0 (elem), 1 (batch) or 2 (pair), got " + std::to_string(code);
  mode_value = static_cast<MixMode>(code);
  return {};
}

/// `box` is "saliency" (centred on the source's saliency peak) or "random" (timm); sets
/// random_box.
inline std::string CheckMixBox(std::string_view box, bool &random_box) {
  if (box != "saliency" && box != "random")
    return "box must be \"saliency\" or \"random\", got \"" + std::string(box) + "\"";
  random_box = box == "random";
  return {};
}

/// `placement` is "source_peak" (the box goes where it was in the source, the paper) or
/// "target_background" (where it covers the least of the target's saliency); sets
/// target_background.
inline std::string CheckMixPlacement(std::string_view placement, bool &target_background) {
  if (placement != "source_peak" && placement != "target_background")
    return "placement must be \"source_peak\" or \"target_background\", got \"" +
           std::string(placement) + "\"";
  target_background = placement == "target_background";
  return {};
}

/// `label_weights` is "area" (CutMix's weight by box area) or "saliency" (by the saliency each
/// image keeps); sets saliency_weights.
inline std::string CheckMixLabelWeights(std::string_view label_weights, bool &saliency_weights) {
  if (label_weights != "area" && label_weights != "saliency")
    return "label_weights must be \"area\" or \"saliency\", got \"" +
           std::string(label_weights) + "\"";
  saliency_weights = label_weights == "saliency";
  return {};
}

/// The placement as the C API gives it: 0 source_peak, 1 target_background.
inline std::string CheckPlacementCode(int64_t code, bool &target_background) {
  if (code != 0 && code != 1)
    return "placement must be 0 (source_peak) or 1 (target_background), got " +
           std::to_string(code);
  target_background = code == 1;
  return {};
}

/// The label weights as the C API gives them: 0 area, 1 saliency.
inline std::string CheckLabelWeightsCode(int64_t code, bool &saliency_weights) {
  if (code != 0 && code != 1)
    return "label_weights must be 0 (area) or 1 (saliency), got " + std::to_string(code);
  saliency_weights = code == 1;
  return {};
}

/// timm's cutmix_minmax: (min, max) with 0 < min < max <= 1.
inline std::string CheckCutmixMinmax(double low, double high) {
  if (!(low > 0.0 && low < high && high <= 1.0))
    return "cutmix_minmax must be (min, max) with 0 < min < max <= 1, got (" +
           FormatNumber(low) + ", " + FormatNumber(high) + ")";
  return {};
}

/// The minmax range leaves at least one box side along both axes of an H x W image:
/// int(L * min) < int(L * max) for L = H and L = W.
inline std::string CheckMinmaxFitsImage(const double *minmax, int height, int width) {
  const bool fits = MinmaxLow(height, minmax) < MinmaxHigh(height, minmax) &&
                    MinmaxLow(width, minmax) < MinmaxHigh(width, minmax);
  if (!fits)
    return "cutmix_minmax (" + FormatNumber(minmax[0]) + ", " + FormatNumber(minmax[1]) +
           ") leaves no box size for images of " + std::to_string(height) + " x " +
           std::to_string(width) + " (int(side * min) must be below int(side * max) for both "
           "sides; widen the range or use larger images)";
  return {};
}

/// The message when the box draws are needed but not given.
inline std::string MissingBoxDraws() {
  return "box_draw is required with box=\"random\" or cutmix_minmax: 4 uniform draws in [0, 1] "
         "per sample (e.g. fn.random.uniform(range=[0, 1], shape=[4]))";
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

/// How far from 1 a soft label's sum may be (float32 probabilities stay far inside it).
constexpr double kLabelSumTolerance = 1e-3;

/// A soft label vector (host memory): every value finite and >= 0, and the values summing to 1
/// within kLabelSumTolerance (an all-zero vector has no class and is refused).
inline std::string CheckSoftLabel(int64_t sample, const float *values, int64_t num_classes) {
  double sum = 0.0;
  for (int64_t c = 0; c < num_classes; ++c) {
    const float v = values[c];
    if (!(std::isfinite(v) && v >= 0.0f))
      return "labels: sample " + std::to_string(sample) + ", class " + std::to_string(c) +
             " is " + FormatNumber(v) + ", expected a finite value >= 0 in soft labels";
    sum += v;
  }
  if (!(std::fabs(sum - 1.0) <= kLabelSumTolerance))
    return "labels: sample " + std::to_string(sample) + " sums to " + FormatNumber(sum) +
           ", expected 1 (|sum - 1| <= 0.001): soft labels are probabilities; normalise the "
           "rows (an all-zero row has no class)";
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

/// The MixUp/CutMix switch of a sample: 0 (MixUp) or 1 (CutMix).
inline std::string CheckCutmix(int64_t sample, int64_t cutmix) {
  if (cutmix != 0 && cutmix != 1)
    return "cutmix: sample " + std::to_string(sample) + " is " + std::to_string(cutmix) +
           ", expected 0 (MixUp) or 1 (CutMix)";
  return {};
}

/// The four box draws of a sample: each in [0, 1].
inline std::string CheckBoxDraw(int64_t sample, const double *values) {
  for (int k = 0; k < 4; ++k)
    if (!(values[k] >= 0.0 && values[k] <= 1.0))
      return "box_draw: sample " + std::to_string(sample) + ", value " + std::to_string(k) +
             " is " + FormatNumber(values[k]) + ", expected a value in [0, 1]";
  return {};
}

/// Pair mode mixes each pair both ways with one draw: source[source[i]] == i for every i.
inline std::string CheckPairSources(const MixSample *samples, int num_samples) {
  for (int i = 0; i < num_samples; ++i) {
    const int j = samples[i].draw.source;
    if (j < 0 || j >= num_samples) continue;  // reported by CheckSource
    if (samples[j].draw.source != i)
      return "source: mode \"pair\" needs pairs that mix both ways (source[source[i]] == i, "
             "e.g. the reverse pairing N-1-i), but sample " + std::to_string(i) + " pairs with " +
             std::to_string(j) + " and sample " + std::to_string(j) + " with " +
             std::to_string(samples[j].draw.source);
  }
  return {};
}

/// Checks a whole batch: the image size, the options, each sample's label (class id in range,
/// or soft values when `soft_labels_on_host`: device vectors cannot be read here) and draws
/// (the box draws only when the config uses them; the sources form pairs in pair mode).
/// Image and output pointers, and whether the box draws were given at all, are the caller's to
/// check.
inline std::string CheckMixArguments(const MixConfig &config, const MixSample *samples,
                                     bool soft_labels_on_host) {
  const MixRule &rule = config.rule;
  const std::string shape_error = CheckImageShape(rule.height, rule.width, config.channels);
  if (!shape_error.empty()) return "images: " + shape_error;
  if (config.num_samples < 1)
    return "expected at least 1 sample, got " + std::to_string(config.num_samples);
  std::string error = CheckMixOptions(config.num_classes, config.label_smoothing);
  if (error.empty() && rule.has_minmax) error = CheckCutmixMinmax(rule.minmax[0], rule.minmax[1]);
  if (error.empty() && rule.has_minmax)
    error = CheckMinmaxFitsImage(rule.minmax, rule.height, rule.width);
  if (!error.empty()) return error;
  for (int i = 0; i < config.num_samples; ++i) {
    const MixSample &s = samples[i];
    const MixDraw &d = s.draw;
    if (!s.soft_label)
      error = CheckClassId(i, s.label_id, config.num_classes);
    else if (soft_labels_on_host)
      error = CheckSoftLabel(i, s.soft_label, config.num_classes);
    if (error.empty()) error = CheckSource(i, d.source, config.num_samples);
    if (error.empty()) error = CheckLam(i, d.lam);
    if (error.empty()) error = CheckCutmix(i, d.cutmix);
    if (error.empty() && config.UsesBoxDraws()) {
      const double u[4] = {d.box_draw[0], d.box_draw[1], d.box_draw[2], d.box_draw[3]};
      error = CheckBoxDraw(i, u);
    }
    if (!error.empty()) return error;
  }
  if (rule.mode == MixMode::kPair) return CheckPairSources(samples, config.num_samples);
  return {};
}

}  // namespace dsm
