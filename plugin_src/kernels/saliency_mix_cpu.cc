// SaliencyMix steps on the CPU (see saliency_mix_cpu.h).
#include "saliency_mix_cpu.h"

#include <cstring>
#include <vector>

#include "fine_grained_saliency_cpu.h"

namespace dsm {

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

void ImagesNeedingPeaks(const MixDraw *draws, int num_samples, bool batch_mode, uint8_t *needed) {
  for (int j = 0; j < num_samples; ++j) needed[j] = 0;
  for (int i = 0; i < num_samples; ++i)
    if (GoverningDraw(draws, i, batch_mode).apply) needed[PeakImage(draws, i, batch_mode)] = 1;
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

void MixClassLabelsCpu(int target_label, int source_label, int num_classes, float smoothing,
                       float lam, float *out) {
  for (int c = 0; c < num_classes; ++c) {
    out[c] = MixLabel(SmoothedOneHot(target_label, c, num_classes, smoothing),
                      SmoothedOneHot(source_label, c, num_classes, smoothing), lam);
  }
}

void MixSoftLabelsCpu(const float *target, const float *source, int num_classes, float smoothing,
                      float lam, float *out) {
  for (int c = 0; c < num_classes; ++c) {
    out[c] = MixLabel(SmoothLabel(target[c], smoothing, num_classes),
                      SmoothLabel(source[c], smoothing, num_classes), lam);
  }
}

}  // namespace dsm
