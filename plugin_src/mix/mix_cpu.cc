// The mixing family on the CPU (see mix_cpu.h).
#include "mix_cpu.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../saliency/fine_grained_saliency_cpu.h"
#include "blend.h"
#include "labels.h"
#include "placement.h"
#include "../common/target_clones.h"  // the blend loop gets AVX-512 / AVX2 clones on x86-64


namespace dsm {

void SerialFor(int count, int64_t, const std::function<void(int)> &body) {
  for (int k = 0; k < count; ++k) body(k);
}

void SaliencyPeakCpu(const uint8_t *image, int height, int width, int channels, int32_t *peak_yx) {
  thread_local std::vector<uint8_t> map;
  const size_t pixels = static_cast<size_t>(height) * width;
  if (map.size() < pixels) map.resize(pixels);
  SaliencyOutput out;
  out.u8 = map.data();
  const int64_t peak = SaliencyMapCpu(image, height, width, channels, out);
  peak_yx[0] = static_cast<int32_t>(peak / width);
  peak_yx[1] = static_cast<int32_t>(peak % width);
}

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

DSM_TARGET_CLONES
void BlendCpu(const uint8_t *target, const uint8_t *source, uint8_t *out, int64_t bytes,
              float lam) {
  const float rest = 1.0f - lam;
  for (int64_t k = 0; k < bytes; ++k) out[k] = BlendPixel(target[k], source[k], lam, rest);
}

void MixLabelsCpu(const float *target_soft, int target_id, const float *source_soft,
                  int source_id, int num_classes, float smoothing, float lam, float *out) {
  for (int c = 0; c < num_classes; ++c) {
    out[c] = MixLabel(SmoothLabel(LabelValue(target_soft, target_id, c), smoothing, num_classes),
                      SmoothLabel(LabelValue(source_soft, source_id, c), smoothing, num_classes),
                      lam);
  }
}

void SaliencyMixCpu(const MixConfig &config, const MixSample *samples,
                    const ParallelFor &parallel_for) {
  const int n = config.num_samples, h = config.rule.height, w = config.rule.width;
  const int c = config.channels;
  if (n <= 0) return;
  const MixPlan plan = PlanMix(config, samples);
  const int64_t pixels = static_cast<int64_t>(h) * w;

  // 1. Saliency peaks of the images that some applied saliency box is centred on, and the maps
  //    of the images whose masses some applied content-aware CutMix reads: each image once.
  std::vector<int32_t> peaks(2 * static_cast<size_t>(n), 0);
  std::vector<uint8_t> maps(plan.map_images.size() * static_cast<size_t>(pixels));
  parallel_for(static_cast<int>(plan.saliency_images.size()), pixels, [&](int k) {
    const int j = plan.saliency_images[k];
    const int slot = plan.map_slot[j];
    int32_t *peak = &peaks[2 * static_cast<size_t>(j)];
    if (slot < 0) {
      SaliencyPeakCpu(samples[j].image, h, w, c, peak);
      return;
    }
    SaliencyOutput out;
    out.u8 = maps.data() + static_cast<size_t>(slot) * pixels;
    const int64_t at = SaliencyMapCpu(samples[j].image, h, w, c, out);
    peak[0] = static_cast<int32_t>(at / w);
    peak[1] = static_cast<int32_t>(at % w);
  });
  auto map_of = [&](int j) -> const uint8_t * {
    const int slot = plan.map_slot[j];
    return slot < 0 ? nullptr : maps.data() + static_cast<size_t>(slot) * pixels;
  };

  // 2. Per sample: decision, paste or blend, label, optional outputs.
  parallel_for(n, pixels * c, [&](int i) {
    const MixDraw draw = GoverningDraw(plan.draws.data(), i, config.rule.mode);
    int peak_y = 0, peak_x = 0;
    if (NeedsPeak(config, draw)) {
      const size_t at = 2 * static_cast<size_t>(PeakImage(plan.draws.data(), i, config.rule.mode));
      peak_y = peaks[at];
      peak_x = peaks[at + 1];
    }
    const MixDecision decided =
        DecideMix(config.rule, draw.lam, draw.apply, draw.cutmix, draw.box_draw, peak_y, peak_x);
    const MixDecision d = ContentAwareCpu(config, decided, map_of(i), map_of(draw.source));
    const MixSample &target = samples[i];
    const MixSample &source = samples[draw.source];
    if (d.kind == MixKind::kMixUp)
      BlendCpu(target.image, source.image, target.out_image, pixels * c, d.lam);
    else
      PasteCpu(target.image, source.image, target.out_image, h, w, c, d.box, d.dest);
    MixLabelsCpu(target.soft_label, target.label_id, source.soft_label, source.label_id,
                 config.num_classes, config.label_smoothing, d.lam, target.out_label);
    WriteMixOutputs(target, d);
  });
}

}  // namespace dsm
