// A batch of the mixing family (MixUp, CutMix with a random or saliency-centred box) as the CPU
// and CUDA paths both see it: the options (MixConfig), the rules that say which draw and which
// saliency peak govern each sample, and the plan made from the samples' draws before any pixel
// is read (MixPlan, PlanMix) (docs/algorithm.md, "The mixing family", and "Content-aware
// placement and label weights"). The samples themselves are sample.h's. Host code only.
#pragma once

#include <cstdint>
#include <vector>

#include "box.h"
#include "sample.h"

namespace dsm {

/// The options and the image size of a batch.
struct MixConfig {
  int num_samples = 0, channels = 0, num_classes = 0;
  float label_smoothing = 0.0f;
  MixRule rule;                    ///< height, width, mode and the box options (box.h)
  bool target_background = false;  ///< placement "target_background" (else "source_peak")
  bool saliency_weights = false;   ///< label_weights "saliency" (else "area")

  /// Whether the box draws of the samples are read (random box or minmax box sizes).
  bool UsesBoxDraws() const { return rule.random_box || rule.has_minmax; }
  /// Whether a CutMix event reads saliency masses (placement or weights by content).
  bool ContentAware() const { return target_background || saliency_weights; }
};

/// The sample whose lam, coin flip, switch and box draws govern sample i: itself (elem), sample 0
/// (batch), or the first of its pair, min(i, source[i]) (pair; source is an involution there).
inline int GoverningIndex(const MixDraw *draws, int i, MixMode mode) {
  switch (mode) {
    case MixMode::kBatch: return 0;
    case MixMode::kPair: return draws[i].source < i ? draws[i].source : i;
    default: return i;
  }
}

/// The draw that governs sample i (GoverningIndex), with sample i's own source: the partner is
/// always source[i].
inline MixDraw GoverningDraw(const MixDraw *draws, int i, MixMode mode) {
  MixDraw d = draws[GoverningIndex(draws, i, mode)];
  d.source = draws[i].source;
  return d;
}

/// Index of the image whose saliency peak centres sample i's saliency box: the source of sample
/// 0 (batch mode), else sample i's own source.
inline int PeakImage(const MixDraw *draws, int i, MixMode mode) {
  return mode == MixMode::kBatch ? draws[0].source : draws[i].source;
}

/// Whether sample i's decision reads a saliency peak: an applied CutMix with a saliency box.
inline bool NeedsPeak(const MixConfig &config, const MixDraw &governing) {
  return governing.apply && governing.cutmix && !config.rule.random_box;
}

/// Whether sample i's decision reads the saliency masses of its target (image i): an applied
/// CutMix with placement "target_background" or label weights "saliency".
inline bool NeedsTargetMap(const MixConfig &config, const MixDraw &governing) {
  return governing.apply && governing.cutmix && config.ContentAware();
}

/// Whether sample i's decision reads the saliency mass of its source (image source[i]): an
/// applied CutMix with label weights "saliency".
inline bool NeedsSourceMap(const MixConfig &config, const MixDraw &governing) {
  return governing.apply && governing.cutmix && config.saliency_weights;
}

/// What a batch needs decided before any pixel is read: its config, the draws of every sample,
/// the images whose saliency peak some applied CutMix with a saliency box uses, and the images
/// whose saliency map (its masses) some applied content-aware CutMix reads (each once,
/// ascending). It depends on the draws alone, not on any image or output pointer.
struct MixPlan {
  MixConfig config;
  std::vector<MixDraw> draws;
  std::vector<int> peak_images;
  std::vector<int> map_images;  ///< images whose map masses are read
  std::vector<int> map_slot;    ///< per image: its index in map_images, or -1
  /// Every image whose saliency is computed, each once: map_images first (slot k is entry k),
  /// then the images whose peak alone is needed.
  std::vector<int> saliency_images;
};

/// Plans a batch from its config and its samples' draws (the CPU path runs this plan, MixCpu; the
/// CUDA path adds its buffer sizes, PlanMixCuda). `samples` must be valid
/// (checks/mix_checks.h: CheckMixArguments).
inline MixPlan PlanMix(const MixConfig &config, const MixSample *samples) {
  const int n = config.num_samples;
  MixPlan plan;
  plan.config = config;
  plan.draws.resize(n);
  for (int i = 0; i < n; ++i) plan.draws[i] = samples[i].draw;
  std::vector<uint8_t> needed(n, 0), mapped(n, 0);
  for (int i = 0; i < n; ++i) {
    const MixDraw governing = GoverningDraw(plan.draws.data(), i, config.rule.mode);
    if (NeedsPeak(config, governing)) needed[PeakImage(plan.draws.data(), i, config.rule.mode)] = 1;
    if (NeedsTargetMap(config, governing)) mapped[i] = 1;
    if (NeedsSourceMap(config, governing)) mapped[governing.source] = 1;
  }
  plan.map_slot.assign(n, -1);
  for (int j = 0; j < n; ++j) {
    if (needed[j]) plan.peak_images.push_back(j);
    if (mapped[j]) {
      plan.map_slot[j] = static_cast<int>(plan.map_images.size());
      plan.map_images.push_back(j);
    }
  }
  plan.saliency_images = plan.map_images;
  for (const int j : plan.peak_images)
    if (plan.map_slot[j] < 0) plan.saliency_images.push_back(j);
  return plan;
}

}  // namespace dsm
