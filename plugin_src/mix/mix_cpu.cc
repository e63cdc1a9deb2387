// The mixing family on the CPU (see mix_cpu.h).
#include "mix_cpu.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../common/target_clones.h"  // the blend loop gets AVX-512 / AVX2 clones on x86-64
#include "../saliency/fine_grained_saliency_cpu.h"
#include "../saliency/fine_grained_saliency_math.h"
#include "blend.h"
#include "box.h"
#include "labels.h"
#include "placement.h"

namespace dsm {
namespace {

/// out = target, with the region `box` of source pasted at `dest` (a box of the same size). HWC
/// uint8, all of one size; out must not alias the inputs.
void PasteCpu(const uint8_t *target, const uint8_t *source, uint8_t *out, int height, int width,
              int channels, const Box &box, const Box &dest) {
  const size_t row = static_cast<size_t>(width) * channels;
  std::memcpy(out, target, row * height);
  const size_t span = static_cast<size_t>(box.x2 - box.x1) * channels;
  if (span == 0) return;
  for (int y = box.y1; y < box.y2; ++y) {
    const size_t from = y * row + static_cast<size_t>(box.x1) * channels;
    const size_t to = static_cast<size_t>(y - box.y1 + dest.y1) * row +
                      static_cast<size_t>(dest.x1) * channels;
    std::memcpy(out + to, source + from, span);
  }
}

/// The int64 integral image ((H + 1) x (W + 1), row stride W + 1) of a uint8 saliency map:
/// integral[y][x] = sum of map[0..y-1][0..x-1], exact.
void SaliencyIntegralCpu(const uint8_t *map, int height, int width, int64_t *integral) {
  const size_t stride = static_cast<size_t>(width) + 1;
  std::fill(integral, integral + stride, int64_t{0});
  for (int y = 0; y < height; ++y) {
    const uint8_t *m = map + static_cast<size_t>(y) * width;
    const int64_t *above = integral + static_cast<size_t>(y) * stride;
    int64_t *here = integral + static_cast<size_t>(y + 1) * stride;
    int64_t row = 0;
    here[0] = 0;
    for (int x = 0; x < width; ++x) {
      row += m[x];
      here[x + 1] = above[x + 1] + row;
    }
  }
}

/// Sum of a uint8 map of `width` columns over a box, exact.
int64_t MapSumCpu(const uint8_t *map, int width, const Box &box) {
  int64_t sum = 0;
  for (int y = box.y1; y < box.y2; ++y) {
    const uint8_t *m = map + static_cast<size_t>(y) * width;
    int64_t row = 0;
    for (int x = box.x1; x < box.x2; ++x) row += m[x];
    sum += row;
  }
  return sum;
}

/// The destination of a h x w box (1 <= h <= H, 1 <= w <= W) on the grid of placement
/// "target_background" that covers the least target saliency (from the target map's integral
/// image), the first in row-major order among equals.
Box BestPlacementCpu(const int64_t *integral, int height, int width, int h, int w) {
  const int64_t count = PlacementCount(height, h) * PlacementCount(width, w);
  const int64_t count_x = PlacementCount(width, w);
  Box best, dest;
  int64_t best_cost = INT64_MAX;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t cost = PlacementCost(integral, height, width, h, w, count_x, k, dest);
    if (cost < best_cost) {  // strict: the first minimum in row-major order stays
      best_cost = cost;
      best = dest;
    }
  }
  return best;
}

/// Placement and weight by content of one CutMix decision (docs/algorithm.md, "Content-aware
/// placement and label weights"): with target_background, `dest` moves to BestPlacementCpu on
/// the target's map; with saliency_weights, lam becomes SaliencyLambda of the masses. The maps
/// (uint8, H x W) are read only when the box is not empty: the target's when either option is
/// on, the source's with saliency_weights. Other decisions are returned unchanged.
MixDecision ContentAwareCpu(const MixConfig &config, MixDecision d, const uint8_t *target_map,
                            const uint8_t *source_map) {
  if (d.kind != MixKind::kCutMix || !config.ContentAware()) return d;
  const int height = config.rule.height, width = config.rule.width;
  if (d.box.Area() == 0) {  // nothing is pasted
    if (config.target_background) d.dest = Box{};
    if (config.saliency_weights) d.lam = SaliencyLambda(0, 0, 0, d.box, height, width);
    return d;
  }
  int64_t target_total = 0, target_covered = 0;
  if (config.target_background) {
    thread_local std::vector<int64_t> integral;
    const size_t entries = (static_cast<size_t>(height) + 1) * (static_cast<size_t>(width) + 1);
    if (integral.size() < entries) integral.resize(entries);
    SaliencyIntegralCpu(target_map, height, width, integral.data());
    d.dest = BestPlacementCpu(integral.data(), height, width, d.box.y2 - d.box.y1,
                              d.box.x2 - d.box.x1);
    if (!config.saliency_weights) return d;
    target_total = BoxSum(integral.data(), width, 0, 0, height, width);
    target_covered = BoxSum(integral.data(), width, d.dest.y1, d.dest.x1, d.dest.y2, d.dest.x2);
  } else {
    target_total = MapSumCpu(target_map, width, Box{0, 0, height, width});
    target_covered = MapSumCpu(target_map, width, d.dest);
  }
  const int64_t source_in = MapSumCpu(source_map, width, d.box);
  d.lam = SaliencyLambda(target_total, target_covered, source_in, d.box, height, width);
  return d;
}

/// out = BlendPixel(target, source, lam, 1 - lam) for every byte (MixUp). HWC uint8, all of
/// one size; out must not alias the inputs.
DSM_TARGET_CLONES
void BlendCpu(const uint8_t *target, const uint8_t *source, uint8_t *out, int64_t bytes,
              float lam) {
  const float rest = 1.0f - lam;
  for (int64_t k = 0; k < bytes; ++k) out[k] = BlendPixel(target[k], source[k], lam, rest);
}

/// Soft label [num_classes] of a pair, each label a soft vector or (soft pointer null) a class
/// id, with timm's label smoothing: MixLabel(Smooth(target), Smooth(source), lam) per class.
void MixLabelsCpu(const float *target_soft, int target_id, const float *source_soft,
                  int source_id, int num_classes, float smoothing, float lam, float *out) {
  for (int c = 0; c < num_classes; ++c) {
    out[c] = MixLabel(SmoothLabel(LabelValue(target_soft, target_id, c), smoothing, num_classes),
                      SmoothLabel(LabelValue(source_soft, source_id, c), smoothing, num_classes),
                      lam);
  }
}

/// The saliency that a batch's decisions read (plan.h): the peak (y, x) of every image of
/// plan.saliency_images (2 values an image, zeros for the others) and the uint8 maps of
/// plan.map_images (slot k at k * pixels).
struct BatchSaliency {
  std::vector<int32_t> peaks;
  std::vector<uint8_t> maps;
  int64_t pixels = 0;

  /// The map of image j, or null when its masses are not read.
  const uint8_t *MapOf(const MixPlan &plan, int j) const {
    const int slot = plan.map_slot[j];
    return slot < 0 ? nullptr : maps.data() + static_cast<size_t>(slot) * pixels;
  }
};

/// The saliency of the planned images, each image once: its map where its masses are read,
/// else only its peak.
BatchSaliency SaliencyCpu(const MixPlan &plan, const MixSample *samples,
                          const ParallelFor &parallel_for) {
  const MixConfig &config = plan.config;
  const int w = config.rule.width;
  BatchSaliency out;
  out.pixels = static_cast<int64_t>(config.rule.height) * w;
  out.peaks.assign(2 * static_cast<size_t>(config.num_samples), 0);
  out.maps.resize(plan.map_images.size() * static_cast<size_t>(out.pixels));
  parallel_for(static_cast<int>(plan.saliency_images.size()), out.pixels, [&](int k) {
    const int j = plan.saliency_images[k];
    const int slot = plan.map_slot[j];
    SaliencyOutput map;  // no map (the peak alone) unless its masses are read
    if (slot >= 0) map.u8 = out.maps.data() + static_cast<size_t>(slot) * out.pixels;
    const int64_t at =
        SaliencyMapCpu(samples[j].image, config.rule.height, w, config.channels, map);
    PeakPosition(at, w, &out.peaks[2 * static_cast<size_t>(j)]);
  });
  return out;
}

/// Sample i of a planned batch: its decision, its pixels (paste or blend), its label and its
/// optional outputs.
void MixSampleCpu(const MixPlan &plan, const MixSample *samples, const BatchSaliency &saliency,
                  int i) {
  const MixConfig &config = plan.config;
  const MixDraw draw = GoverningDraw(plan.draws.data(), i, config.rule.mode);
  int peak_y = 0, peak_x = 0;
  if (NeedsPeak(config, draw)) {
    const size_t at = 2 * static_cast<size_t>(PeakImage(plan.draws.data(), i, config.rule.mode));
    peak_y = saliency.peaks[at];
    peak_x = saliency.peaks[at + 1];
  }
  const MixDecision decided =
      DecideMix(config.rule, draw.lam, draw.apply, draw.cutmix, draw.box_draw, peak_y, peak_x);
  const MixDecision d = ContentAwareCpu(config, decided, saliency.MapOf(plan, i),
                                        saliency.MapOf(plan, draw.source));
  const MixSample &target = samples[i];
  const MixSample &source = samples[draw.source];
  const int h = config.rule.height, w = config.rule.width, c = config.channels;
  if (d.kind == MixKind::kMixUp)
    BlendCpu(target.image, source.image, target.out_image, saliency.pixels * c, d.lam);
  else
    PasteCpu(target.image, source.image, target.out_image, h, w, c, d.box, d.dest);
  MixLabelsCpu(target.soft_label, target.label_id, source.soft_label, source.label_id,
               config.num_classes, config.label_smoothing, d.lam, target.out_label);
  WriteMixOutputs(target, d);
}

}  // namespace

void SerialFor(int count, int64_t, const std::function<void(int)> &body) {
  for (int k = 0; k < count; ++k) body(k);
}

void MixCpu(const MixPlan &plan, const MixSample *samples, const ParallelFor &parallel_for) {
  const MixConfig &config = plan.config;
  if (config.num_samples <= 0) return;
  const BatchSaliency saliency = SaliencyCpu(plan, samples, parallel_for);
  parallel_for(config.num_samples, saliency.pixels * config.channels,
               [&](int i) { MixSampleCpu(plan, samples, saliency, i); });
}

}  // namespace dsm
