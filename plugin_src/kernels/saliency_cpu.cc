// CPU implementation of the fine-grained saliency map (see saliency_math.h for the arithmetic).
//
// Speed comes from the centre-surround loop: each row is split into the border, where the window
// is clipped, and the interior, where the window has a constant area and its corners move with x;
// the interior is straight-line float code over contiguous memory that the compiler vectorises
// (with an AVX2 clone chosen at run time), exact IEEE division included. The six scales are fused
// per row so that the integral rows stay in cache.
#include "saliency_cpu.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "saliency_math.h"

namespace dsm {
namespace {

struct CpuScratch {
  std::vector<uint8_t> gray, gray_tmp;
  std::vector<uint16_t> hsum;
  std::vector<float> integral, centre;
  std::vector<int32_t> acc_on, acc_off;
  std::vector<uint16_t> sum_on, sum_off;
  std::vector<uint8_t> lut_on, lut_off, lut_mix;
};

CpuScratch &ThreadScratch() {
  thread_local CpuScratch scratch;
  return scratch;
}

template <typename T>
T *Sized(std::vector<T> &v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

void GrayCpu(const uint8_t *image, int64_t pixels, int channels, uint8_t *gray) {
  if (channels == 1) {
    std::memcpy(gray, image, static_cast<size_t>(pixels));
    return;
  }
  for (int64_t i = 0; i < pixels; ++i) {
    const uint8_t *p = image + 3 * i;
    gray[i] = RgbToGray(p[0], p[1], p[2]);
  }
}

/// One 3x3 Gaussian blur, BORDER_REFLECT_101, separable integer sums: exact.
void BlurCpu(const uint8_t *src, uint8_t *dst, int height, int width, uint16_t *hsum) {
  for (int y = 0; y < height; ++y) {
    const uint8_t *s = src + static_cast<int64_t>(y) * width;
    uint16_t *h = hsum + static_cast<int64_t>(y) * width;
    const int last = width - 1;
    if (width == 1) {
      h[0] = static_cast<uint16_t>(4 * s[0]);
      continue;
    }
    h[0] = static_cast<uint16_t>(2 * s[1] + 2 * s[0]);
    for (int x = 1; x < last; ++x) h[x] = static_cast<uint16_t>(s[x - 1] + 2 * s[x] + s[x + 1]);
    h[last] = static_cast<uint16_t>(2 * s[last - 1] + 2 * s[last]);
  }
  for (int y = 0; y < height; ++y) {
    const uint16_t *up = hsum + static_cast<int64_t>(Reflect101(y - 1, height)) * width;
    const uint16_t *mid = hsum + static_cast<int64_t>(y) * width;
    const uint16_t *down = hsum + static_cast<int64_t>(Reflect101(y + 1, height)) * width;
    uint8_t *d = dst + static_cast<int64_t>(y) * width;
    for (int x = 0; x < width; ++x)
      d[x] = RoundBlur(static_cast<uint32_t>(up[x]) + 2u * mid[x] + down[x]);
  }
}

/// Border pixels of one row at one scale: the window is clipped, so compute corners per pixel.
void ScaleRowClipped(const float *integral, int stride, int y1, int y2, int n, int width,
                     const uint8_t *centre, int x_begin, int x_end, int32_t *acc_on,
                     int32_t *acc_off) {
  const float *top = integral + static_cast<int64_t>(y1) * stride;
  const float *bottom = integral + static_cast<int64_t>(y2) * stride;
  for (int x = x_begin; x < x_end; ++x) {
    const int x1 = WindowLo(x, n, width), x2 = WindowHi(x, n, width);
    const float sum = WindowSum(bottom[x2], top[x1], bottom[x1], top[x2]);
    const float mean = SurroundMean(sum, centre[x], (x2 - x1) * (y2 - y1));
    uint32_t on, off;
    OnOff(centre[x], mean, on, off);
    acc_on[x] += static_cast<int32_t>(on);
    acc_off[x] += static_cast<int32_t>(off);
  }
}

/// Interior pixels of one row at one scale: x1 = x - n + 1 and x2 = x + n + 1 both inside the
/// integral image, constant area. Same arithmetic as ScaleRowClipped, written for vectorisation.
__attribute__((target_clones("avx2", "default"))) void ScaleRowInterior(
    const float *__restrict top, const float *__restrict bottom, int n, float divisor,
    const float *__restrict centre, int x_begin, int x_end, int32_t *__restrict acc_on,
    int32_t *__restrict acc_off) {
  const float *__restrict top_lo = top - n + 1;
  const float *__restrict top_hi = top + n + 1;
  const float *__restrict bottom_lo = bottom - n + 1;
  const float *__restrict bottom_hi = bottom + n + 1;
  for (int x = x_begin; x < x_end; ++x) {
    const float sum = ((bottom_hi[x] + top_lo[x]) - bottom_lo[x]) - top_hi[x];
    const float c = centre[x];
    const float mean = (sum - c) / divisor;
    const float on = c - mean;
    const float off = mean - c;
    // Values are in (-256, 256) and never NaN here (divisor >= 2*n - 1 > 0).
    acc_on[x] += static_cast<int32_t>(on > 0.0f ? on : 0.0f);
    acc_off[x] += static_cast<int32_t>(off > 0.0f ? off : 0.0f);
  }
}

}  // namespace

namespace detail {

void SmoothedGrayCpu(const uint8_t *image, int height, int width, int channels, uint8_t *gray) {
  CpuScratch &s = ThreadScratch();
  const int64_t pixels = static_cast<int64_t>(height) * width;
  uint8_t *tmp = Sized(s.gray_tmp, pixels);
  uint16_t *hsum = Sized(s.hsum, pixels);
  GrayCpu(image, pixels, channels, gray);
  BlurCpu(gray, tmp, height, width, hsum);
  BlurCpu(tmp, gray, height, width, hsum);
}

void IntegralCpu(const uint8_t *gray, int height, int width, float *integral) {
  const int stride = width + 1;
  std::fill(integral, integral + stride, 0.0f);
  for (int y = 0; y < height; ++y) {
    const uint8_t *g = gray + static_cast<int64_t>(y) * width;
    const float *prev = integral + static_cast<int64_t>(y) * stride;
    float *cur = integral + static_cast<int64_t>(y + 1) * stride;
    cur[0] = 0.0f;
    int32_t row_sum = 0;  // exact: at most 255 * width
    for (int x = 0; x < width; ++x) {
      row_sum += g[x];
      cur[x + 1] = prev[x + 1] + static_cast<float>(row_sum);
    }
  }
}

}  // namespace detail

int64_t SaliencyMapCpu(const uint8_t *image, int height, int width, int channels,
                       SaliencyOutput out) {
  CpuScratch &s = ThreadScratch();
  const int64_t pixels = static_cast<int64_t>(height) * width;
  const int stride = width + 1;

  uint8_t *gray = Sized(s.gray, pixels);
  detail::SmoothedGrayCpu(image, height, width, channels, gray);
  float *integral = Sized(s.integral, static_cast<int64_t>(height + 1) * stride);
  detail::IntegralCpu(gray, height, width, integral);

  float *centre = Sized(s.centre, width);
  int32_t *acc_on = Sized(s.acc_on, width);
  int32_t *acc_off = Sized(s.acc_off, width);
  uint16_t *sum_on = Sized(s.sum_on, pixels);
  uint16_t *sum_off = Sized(s.sum_off, pixels);
  uint32_t max_on = 0, max_off = 0;

  for (int y = 0; y < height; ++y) {
    const uint8_t *g = gray + static_cast<int64_t>(y) * width;
    for (int x = 0; x < width; ++x) centre[x] = static_cast<float>(g[x]);
    std::fill(acc_on, acc_on + width, 0);
    std::fill(acc_off, acc_off + width, 0);
    for (int i = 0; i < kNumScales; ++i) {
      const int n = ScaleRadius(i);
      const int y1 = WindowLo(y, n, height), y2 = WindowHi(y, n, height);
      // Interior: x - n + 1 >= 0 and x + n + 1 <= width.
      const int lo = std::min(n - 1, width);
      const int hi = std::max(lo, width - n);
      ScaleRowClipped(integral, stride, y1, y2, n, width, g, 0, lo, acc_on, acc_off);
      if (hi > lo) {
        const float divisor = static_cast<float>(2 * n * (y2 - y1) - 1);
        ScaleRowInterior(integral + static_cast<int64_t>(y1) * stride,
                         integral + static_cast<int64_t>(y2) * stride, n, divisor, centre, lo,
                         hi, acc_on, acc_off);
      }
      ScaleRowClipped(integral, stride, y1, y2, n, width, g, hi, width, acc_on, acc_off);
    }
    uint16_t *row_on = sum_on + static_cast<int64_t>(y) * width;
    uint16_t *row_off = sum_off + static_cast<int64_t>(y) * width;
    for (int x = 0; x < width; ++x) {
      row_on[x] = static_cast<uint16_t>(acc_on[x]);
      row_off[x] = static_cast<uint16_t>(acc_off[x]);
      max_on = std::max<uint32_t>(max_on, row_on[x]);
      max_off = std::max<uint32_t>(max_off, row_off[x]);
    }
  }

  // Normalisations through lookup tables: a scale sum is at most 6 * 255.
  uint8_t *lut_on = Sized(s.lut_on, max_on + 1);
  uint8_t *lut_off = Sized(s.lut_off, max_off + 1);
  for (uint32_t v = 0; v <= max_on; ++v) lut_on[v] = NormalizeScaleSum(v, max_on);
  for (uint32_t v = 0; v <= max_off; ++v) lut_off[v] = NormalizeScaleSum(v, max_off);
  const uint32_t mix_max = MixMaximum(max_on, max_off);
  uint8_t *lut_mix = Sized(s.lut_mix, 511);
  for (uint32_t v = 0; v < 511; ++v) lut_mix[v] = MixOnOff(v, 0, mix_max);

  int64_t peak = 0;
  uint32_t peak_value = 0;
  for (int64_t i = 0; i < pixels; ++i) {
    const uint32_t k = lut_mix[lut_on[sum_on[i]] + lut_off[sum_off[i]]];
    if (k > peak_value) {
      peak_value = k;
      peak = i;
    }
    if (out.u8)
      out.u8[i] = static_cast<uint8_t>(k);
    else
      out.f32[i] = SaliencyToFloat(k);
  }
  return peak;
}

}  // namespace dsm
