// The mixing family on the CPU (see saliency_mix_cpu.h).
#include "saliency_mix_cpu.h"

#include <cstring>
#include <vector>

#include "fine_grained_saliency_cpu.h"

// The blend loop gets AVX-512 and AVX2 clones on x86-64 (as the saliency loops, see
// fine_grained_saliency_cpu.cc): plain IEEE float32 in every clone, no FMA contraction.
#if defined(__x86_64__) && defined(__linux__) && \
    ((defined(__GNUC__) && !defined(__clang__)) || (defined(__clang__) && __clang_major__ >= 14))
#define DSM_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DSM_TARGET_CLONES
#endif

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
              int channels, const Box &box) {
  const size_t row = static_cast<size_t>(width) * channels;
  std::memcpy(out, target, row * height);
  const size_t span = static_cast<size_t>(box.x2 - box.x1) * channels;
  if (span == 0) return;
  for (int y = box.y1; y < box.y2; ++y) {
    const size_t at = y * row + static_cast<size_t>(box.x1) * channels;
    std::memcpy(out + at, source + at, span);
  }
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
  const int n = config.num_samples, h = config.height, w = config.width, c = config.channels;
  if (n <= 0) return;
  const MixPlan plan = PlanMix(config, samples);
  const int64_t pixels = static_cast<int64_t>(h) * w;

  // 1. Saliency peaks of the images that some applied saliency box is centred on.
  std::vector<int32_t> peaks(2 * static_cast<size_t>(n), 0);
  parallel_for(static_cast<int>(plan.peak_images.size()), pixels, [&](int k) {
    const int j = plan.peak_images[k];
    SaliencyPeakCpu(samples[j].image, h, w, c, &peaks[2 * static_cast<size_t>(j)]);
  });

  // 2. Per sample: decision, paste or blend, label, optional outputs.
  const MixRule rule = config.Rule();
  parallel_for(n, pixels * c, [&](int i) {
    const MixDraw draw = GoverningDraw(plan.draws.data(), i, config.mode);
    int peak_y = 0, peak_x = 0;
    if (NeedsPeak(config, draw)) {
      const size_t at = 2 * static_cast<size_t>(PeakImage(plan.draws.data(), i, config.mode));
      peak_y = peaks[at];
      peak_x = peaks[at + 1];
    }
    const MixDecision d =
        DecideMix(rule, draw.lam, draw.apply, draw.cutmix, draw.box_draw, peak_y, peak_x);
    const MixSample &target = samples[i];
    const MixSample &source = samples[draw.source];
    if (d.kind == MixKind::kMixUp)
      BlendCpu(target.image, source.image, target.out_image, pixels * c, d.lam);
    else
      PasteCpu(target.image, source.image, target.out_image, h, w, c, d.box);
    MixLabelsCpu(target.soft_label, target.label_id, source.soft_label, source.label_id,
                 config.num_classes, config.label_smoothing, d.lam, target.out_label);
    if (target.out_box) {
      target.out_box[0] = d.box.y1;
      target.out_box[1] = d.box.x1;
      target.out_box[2] = d.box.y2;
      target.out_box[3] = d.box.x2;
    }
    if (target.out_lam) *target.out_lam = d.lam;
    if (target.out_source) *target.out_source = draw.source;
  });
}

}  // namespace dsm
