// A SaliencyMix batch as the CPU and CUDA paths both see it: the samples, the options, the random
// draws, and the rules that say which draw and which saliency peak govern each pair
// (docs/algorithm.md, "Pairs and modes"). Host code only; no CUDA.
#pragma once

#include <cstdint>
#include <vector>

namespace dsm {

/// One sample of a batch. On the CPU path every pointer is a host pointer; on the CUDA path the
/// image and label pointers are device pointers. The draws and the class id are host values.
struct MixSample {
  const uint8_t *image = nullptr;     ///< HWC uint8 (all samples of a batch one size)
  uint8_t *out_image = nullptr;       ///< mixed image, same size; must not overlap any input
  const float *soft_label = nullptr;  ///< [num_classes] soft vector, or null: use label_id
  float *out_label = nullptr;         ///< [num_classes] mixed soft label
  int32_t *out_box = nullptr;         ///< optional [4]: y1, x1, y2, x2
  float *out_lam = nullptr;           ///< optional: the target weight
  int32_t *out_source = nullptr;      ///< optional: the source index
  int32_t label_id = 0;               ///< class id, when soft_label is null
  int32_t source = 0;                 ///< the pair of this sample (an index in the batch)
  float lam = 1.0f;                   ///< sampled target weight
  int32_t apply = 0;                  ///< coin flip (non-zero: mix)
};

/// The options and the image size of a batch.
struct MixConfig {
  int num_samples = 0, height = 0, width = 0, channels = 0, num_classes = 0;
  float label_smoothing = 0.0f;
  bool batch_mode = false, correct_lam = true;
};

/// The random draws of one sample: its pair (source index), sampled lam and coin flip.
struct MixDraw {
  int32_t source = 0;
  float lam = 1.0f;
  bool apply = false;
};

/// The lam and coin flip that govern sample i: its own (elem mode), or sample 0's (batch mode).
/// The source stays sample i's own in both modes.
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

/// What a batch needs decided before any pixel is read: the draws of every sample, and the
/// images whose saliency peak some applied pair uses (each once, ascending).
struct MixPlan {
  std::vector<MixDraw> draws;
  std::vector<int> peak_images;
};

inline MixPlan PlanMix(const MixConfig &config, const MixSample *samples) {
  const int n = config.num_samples;
  MixPlan plan;
  plan.draws.resize(n);
  for (int i = 0; i < n; ++i)
    plan.draws[i] = {samples[i].source, samples[i].lam, samples[i].apply != 0};
  std::vector<uint8_t> needed(n, 0);
  for (int i = 0; i < n; ++i)
    if (GoverningDraw(plan.draws.data(), i, config.batch_mode).apply)
      needed[PeakImage(plan.draws.data(), i, config.batch_mode)] = 1;
  for (int j = 0; j < n; ++j)
    if (needed[j]) plan.peak_images.push_back(j);
  return plan;
}

}  // namespace dsm
