// CPU implementation of the fine-grained saliency map (see fine_grained_saliency_math.h for the
// arithmetic, docs/algorithm.md for the algorithm).
//
// Speed comes from the centre-surround loop. The integral image is padded on both sides so that
// clipped window corners read the right values at unclipped indices; every row at every scale is
// then straight-line float code over contiguous memory that the compiler vectorises (on x86-64,
// with AVX-512 and AVX2 clones chosen at load time), exact IEEE division included. The six
// scales are fused per row so that the integral rows stay in cache.
#include "fine_grained_saliency_cpu.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "fine_grained_saliency_math.h"
#include "../common/target_clones.h"  // the hot loops get AVX-512 / AVX2 clones on x86-64


namespace dsm {
namespace {

struct CpuScratch {
  std::vector<uint8_t> gray, gray_tmp;
  std::vector<uint16_t> hsum;
  std::vector<float> integral, centre;
  std::vector<int32_t> acc_on, acc_off;
  std::vector<uint16_t> sum_on, sum_off;
  std::vector<uint8_t> lut_on, lut_off, lut_mix, map_u8;
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

DSM_TARGET_CLONES void GrayCpu(const uint8_t *image, int64_t pixels, int channels, uint8_t *gray) {
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
DSM_TARGET_CLONES void BlurCpu(const uint8_t *src, uint8_t *dst, int height, int width,
                               uint16_t *hsum) {
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

/// Widest half window plus one: the padding on each side of a padded integral row.
constexpr int kPad = 113;
static_assert(kPad == ScaleRadius(5) + 1, "padding must cover the largest scale");

/// One row at one scale, all pixels. `top` and `bottom` point at column 0 of integral rows y1
/// and y2 in a padded integral image, where every column index below 0 reads column 0 and every
/// index above W reads column W: so the unclipped corner indices x - n + 1 and x + n + 1 read
/// exactly the values at the clipped corners, and one straight-line loop over contiguous memory
/// covers the border and the interior alike. Only the area uses the clipped corners.
DSM_TARGET_CLONES void ScaleRow(
    const float *__restrict top, const float *__restrict bottom, int n, int width, int dy,
    const float *__restrict centre, int32_t *__restrict acc_on, int32_t *__restrict acc_off) {
  const float *__restrict top_lo = top - n + 1;
  const float *__restrict top_hi = top + n + 1;
  const float *__restrict bottom_lo = bottom - n + 1;
  const float *__restrict bottom_hi = bottom + n + 1;
  for (int x = 0; x < width; ++x) {
    const int x1 = x - n + 1 < 0 ? 0 : x - n + 1;
    const int x2 = x + n + 1 > width ? width : x + n + 1;
    const float divisor = static_cast<float>((x2 - x1) * dy - 1);
    const float sum = ((bottom_hi[x] + top_lo[x]) - bottom_lo[x]) - top_hi[x];
    const float c = centre[x];
    const float mean = (sum - c) / divisor;
    const float on = c - mean;
    const float off = mean - c;
    // OpenCV's (uchar) keeps the low byte (PositivePartU8); a NaN (0/0 for a 1x1 image) fails
    // both comparisons and gives 0.
    acc_on[x] += static_cast<int32_t>(on > 0.0f ? on : 0.0f) & 0xFF;
    acc_off[x] += static_cast<int32_t>(off > 0.0f ? off : 0.0f) & 0xFF;
  }
}

/// The mixed map through the lookup tables, and its largest value.
DSM_TARGET_CLONES uint8_t MixedMapCpu(const uint16_t *__restrict sum_on,
                                   const uint16_t *__restrict sum_off,
                                   const uint8_t *__restrict lut_on,
                                   const uint8_t *__restrict lut_off,
                                   const uint8_t *__restrict lut_mix, int64_t pixels,
                                   uint8_t *__restrict map) {
  for (int64_t i = 0; i < pixels; ++i) map[i] = lut_mix[lut_on[sum_on[i]] + lut_off[sum_off[i]]];
  uint8_t peak_value = 0;
  for (int64_t i = 0; i < pixels; ++i) peak_value = std::max(peak_value, map[i]);
  return peak_value;
}

DSM_TARGET_CLONES void AddRows(const float *__restrict prev, const float *__restrict prefix,
                            float *__restrict cur, int width) {
  for (int x = 0; x < width; ++x) cur[x] = prev[x] + prefix[x];
}

/// Gray conversion and the two 3x3 Gaussian blurs; `gray` is H*W.
void SmoothedGrayCpu(const uint8_t *image, int height, int width, int channels, uint8_t *gray) {
  CpuScratch &s = ThreadScratch();
  const int64_t pixels = static_cast<int64_t>(height) * width;
  uint8_t *tmp = Sized(s.gray_tmp, pixels);
  uint16_t *hsum = Sized(s.hsum, pixels);
  GrayCpu(image, pixels, channels, gray);
  BlurCpu(gray, tmp, height, width, hsum);
  BlurCpu(tmp, gray, height, width, hsum);
}

/// float32 integral image of `gray`, H+1 rows of W+1 values `stride` floats apart, accumulated
/// in OpenCV's order: each row's prefix sums, then added to the row above in float32.
void IntegralCpu(const uint8_t *gray, int height, int width, float *integral, int stride) {
  std::fill(integral, integral + width + 1, 0.0f);
  thread_local std::vector<float> prefix;
  if (prefix.size() < static_cast<size_t>(width)) prefix.resize(width);
  for (int y = 0; y < height; ++y) {
    const uint8_t *g = gray + static_cast<int64_t>(y) * width;
    const float *prev = integral + static_cast<int64_t>(y) * stride;
    float *cur = integral + static_cast<int64_t>(y + 1) * stride;
    cur[0] = 0.0f;
    // Exact: at most 255 * width < 2^24 (CheckImageShape refuses wider images), so the int32 sum
    // neither overflows nor loses a bit when converted to float, and equals OpenCV's float sum.
    int32_t row_sum = 0;
    for (int x = 0; x < width; ++x) {
      row_sum += g[x];
      prefix[x] = static_cast<float>(row_sum);
    }
    AddRows(prev + 1, prefix.data(), cur + 1, width);
  }
}

/// The padded float32 integral image of `gray` (see ScaleRow): IntegralCpu's H + 1 rows, `stride`
/// floats apart, each with kPad columns on either side that repeat its columns 0 and W.
/// Returns column 0 of row 0.
float *PaddedIntegralCpu(const uint8_t *gray, int height, int width, int stride, CpuScratch &s) {
  float *padded = Sized(s.integral, static_cast<int64_t>(height + 1) * stride);
  float *integral = padded + kPad;  // column 0 of row 0
  IntegralCpu(gray, height, width, integral, stride);
  for (int y = 0; y <= height; ++y) {
    float *row = integral + static_cast<int64_t>(y) * stride;
    std::fill(row - kPad, row, row[0]);
    std::fill(row + width + 1, row + width + 1 + kPad, row[width]);
  }
  return integral;
}

/// Steps 4 to 6 up to the normalisation: per pixel the sums over the six scales of its on and
/// off responses (uint16, into s.sum_on and s.sum_off), and their maxima.
void ScaleSumsCpu(const uint8_t *gray, const float *integral, int height, int width, int stride,
                  CpuScratch &s, uint32_t &max_on, uint32_t &max_off) {
  const int64_t pixels = static_cast<int64_t>(height) * width;
  float *centre = Sized(s.centre, width);
  int32_t *acc_on = Sized(s.acc_on, width);
  int32_t *acc_off = Sized(s.acc_off, width);
  uint16_t *sum_on = Sized(s.sum_on, pixels);
  uint16_t *sum_off = Sized(s.sum_off, pixels);
  max_on = 0;
  max_off = 0;
  for (int y = 0; y < height; ++y) {
    const uint8_t *g = gray + static_cast<int64_t>(y) * width;
    for (int x = 0; x < width; ++x) centre[x] = static_cast<float>(g[x]);
    std::fill(acc_on, acc_on + width, 0);
    std::fill(acc_off, acc_off + width, 0);
    for (int i = 0; i < kNumScales; ++i) {
      const int n = ScaleRadius(i);
      const int y1 = WindowLo(y, n, height), y2 = WindowHi(y, n, height);
      ScaleRow(integral + static_cast<int64_t>(y1) * stride,
               integral + static_cast<int64_t>(y2) * stride, n, width, y2 - y1, centre, acc_on,
               acc_off);
    }
    uint16_t *row_on = sum_on + static_cast<int64_t>(y) * width;
    uint16_t *row_off = sum_off + static_cast<int64_t>(y) * width;
    int32_t row_max_on = 0, row_max_off = 0;  // sums of six uint8 values: at most 1530
    for (int x = 0; x < width; ++x) {
      row_on[x] = static_cast<uint16_t>(acc_on[x]);
      row_off[x] = static_cast<uint16_t>(acc_off[x]);
    }
    for (int x = 0; x < width; ++x) row_max_on = std::max(row_max_on, acc_on[x]);
    for (int x = 0; x < width; ++x) row_max_off = std::max(row_max_off, acc_off[x]);
    max_on = std::max(max_on, static_cast<uint32_t>(row_max_on));
    max_off = std::max(max_off, static_cast<uint32_t>(row_max_off));
  }
}

/// Steps 6 to 8 from the scale sums: the normalisations and the mix through lookup tables (a
/// scale sum is at most 6 * 255) into the uint8 `map`, then the index of its first maximum: a
/// vectorised max and a memchr, instead of a branch per pixel.
int64_t MixedMapAndPeakCpu(CpuScratch &s, uint32_t max_on, uint32_t max_off, int64_t pixels,
                           uint8_t *map) {
  uint8_t *lut_on = Sized(s.lut_on, max_on + 1);
  uint8_t *lut_off = Sized(s.lut_off, max_off + 1);
  for (uint32_t v = 0; v <= max_on; ++v) lut_on[v] = NormalizeScaleSum(v, max_on);
  for (uint32_t v = 0; v <= max_off; ++v) lut_off[v] = NormalizeScaleSum(v, max_off);
  const uint32_t mix_max = MixMaximum(max_on, max_off);
  uint8_t *lut_mix = Sized(s.lut_mix, 511);
  for (uint32_t v = 0; v < 511; ++v) lut_mix[v] = MixOnOff(v, 0, mix_max);
  const uint8_t peak_value =
      MixedMapCpu(s.sum_on.data(), s.sum_off.data(), lut_on, lut_off, lut_mix, pixels, map);
  return static_cast<const uint8_t *>(std::memchr(map, peak_value, static_cast<size_t>(pixels))) -
         map;
}

}  // namespace

int64_t SaliencyMapCpu(const uint8_t *image, int height, int width, int channels,
                       SaliencyOutput out) {
  if (height < 1 || width < 1) return 0;  // refused by CheckImageShape; tells the compiler too
  CpuScratch &s = ThreadScratch();
  const int64_t pixels = static_cast<int64_t>(height) * width;
  uint8_t *gray = Sized(s.gray, pixels);
  SmoothedGrayCpu(image, height, width, channels, gray);
  const int stride = width + 1 + 2 * kPad;
  const float *integral = PaddedIntegralCpu(gray, height, width, stride, s);
  uint32_t max_on = 0, max_off = 0;
  ScaleSumsCpu(gray, integral, height, width, stride, s, max_on, max_off);
  // The map as uint8: into the output, or into scratch for a float output (or none).
  uint8_t *map = out.u8 ? out.u8 : Sized(s.map_u8, pixels);
  const int64_t peak = MixedMapAndPeakCpu(s, max_on, max_off, pixels, map);
  if (out.f32)
    for (int64_t i = 0; i < pixels; ++i) out.f32[i] = SaliencyToFloat(map[i]);
  return peak;
}

}  // namespace dsm
