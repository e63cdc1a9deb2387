// CUDA implementation of the fine-grained saliency map, one launch sequence per batch.
//
// Stages (each kernel covers every image of the batch; blockIdx.y is the sample):
//   1. gray + first 3x3 blur        -> blurred_once (u8)
//   2. second 3x3 blur              -> gray (u8)
//   3. row prefix sums (one warp a row, exact integers) -> integral rows
//   4. column accumulation in float32, top to bottom, as OpenCV does -> integral
//   5. six centre-surround scales   -> sum_on, sum_off (u16) + per-image maxima
//   6. normalise and mix            -> map (u8 or f32) + per-image first maximum
//   7. peak (y, x) per image
// The per-pixel arithmetic is the shared code of fine_grained_saliency_math.h.
#include "fine_grained_saliency_cuda.h"

#include <algorithm>
#include <vector>

#include "../common/cuda_layout.h"
#include "../common/cuda_try.h"
#include "../common/integral_image.cuh"
#include "fine_grained_saliency_math.h"

namespace dsm {
namespace {

constexpr int kBlock = 256;
constexpr int kMaxBlocksPerSample = 512;

/// Per-image statistics reduced with atomics; zeroed before each run.
struct SampleStats {
  unsigned int max_on;
  unsigned int max_off;
  unsigned long long peak_key;  // (value << 32) | (0xFFFFFFFF - index): max = first maximum
};

/// Device-side view of one sample: its I/O plus its slices of the scratch buffer.
struct SampleDesc {
  SaliencySample io;
  uint8_t *blurred_once;
  uint8_t *gray;
  float *integral;  // (H+1) x (W+1)
  uint16_t *sum_on;
  uint16_t *sum_off;
  SampleStats *stats;
};

struct Layout {
  size_t descs = 0, stats = 0, total = 0;
  std::vector<size_t> offsets;  // per sample: start of its buffers
};

/// Where one sample's buffers start in its part of the scratch (blurred_once at 0), and its end.
struct SampleOffsets {
  size_t gray = 0, integral = 0, sum_on = 0, sum_off = 0, end = 0;
};

SampleOffsets OffsetsOf(const SaliencySample &s) {
  const size_t pixels = static_cast<size_t>(s.height) * s.width;
  const size_t integral = static_cast<size_t>(s.height + 1) * (s.width + 1) * sizeof(float);
  SampleOffsets o;
  o.gray = AlignUp(pixels);
  o.integral = 2 * AlignUp(pixels);
  o.sum_on = o.integral + AlignUp(integral);
  o.sum_off = o.sum_on + AlignUp(pixels * sizeof(uint16_t));
  o.end = o.sum_off + AlignUp(pixels * sizeof(uint16_t));
  return o;
}

size_t SampleBytes(const SaliencySample &s) { return OffsetsOf(s).end; }

Layout PlanLayout(const SaliencySample *samples, int n) {
  Layout l;
  l.descs = 0;
  l.stats = AlignUp(sizeof(SampleDesc) * n);
  size_t at = l.stats + AlignUp(sizeof(SampleStats) * n);
  l.offsets.resize(n);
  for (int i = 0; i < n; ++i) {
    l.offsets[i] = at;
    at += SampleBytes(samples[i]);
  }
  l.total = at;
  return l;
}

__device__ __forceinline__ int64_t Pixels(const SampleDesc &d) {
  return static_cast<int64_t>(d.io.height) * d.io.width;
}

__device__ __forceinline__ uint32_t GrayAt(const SampleDesc &d, int y, int x) {
  const uint8_t *p = d.io.image + (static_cast<int64_t>(y) * d.io.width + x) * d.io.channels;
  return d.io.channels == 3 ? RgbToGray(p[0], p[1], p[2]) : p[0];
}

template <bool kFromImage>
__global__ void BlurKernel(const SampleDesc *descs) {
  const SampleDesc d = descs[blockIdx.y];  // a local copy: no reloads after stores
  const int h = d.io.height, w = d.io.width;
  const int64_t total = Pixels(d);
  const uint8_t *src = d.blurred_once;
  uint8_t *dst = kFromImage ? d.blurred_once : d.gray;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int y = static_cast<int>(i / w), x = static_cast<int>(i % w);
    const int ys[3] = {Reflect101(y - 1, h), y, Reflect101(y + 1, h)};
    const int xs[3] = {Reflect101(x - 1, w), x, Reflect101(x + 1, w)};
    uint32_t acc = 0;
#pragma unroll
    for (int a = 0; a < 3; ++a) {
      uint32_t row = 0;
#pragma unroll
      for (int b = 0; b < 3; ++b) {
        const uint32_t v = kFromImage ? GrayAt(d, ys[a], xs[b])
                                      : src[static_cast<int64_t>(ys[a]) * w + xs[b]];
        row += (b == 1 ? 2u : 1u) * v;
      }
      acc += (a == 1 ? 2u : 1u) * row;
    }
    dst[i] = RoundBlur(acc);
  }
}

/// Row prefix sums: one warp per row; writes integral[y+1][x+1] = sum(gray[y][0..x]) (exact).
__global__ void RowPrefixKernel(const SampleDesc *descs) {
  const SampleDesc d = descs[blockIdx.y];  // a local copy: no reloads after stores
  RowPrefixSums(d.gray, d.integral, d.io.height, d.io.width);
}

/// Column accumulation: integral[y+1][x] = integral[y][x] + rowprefix[y][x], float32, in order.
__global__ void ColumnAccumulateKernel(const SampleDesc *descs) {
  const SampleDesc d = descs[blockIdx.y];  // a local copy: no reloads after stores
  ColumnPrefixSums(d.integral, d.io.height, d.io.width);
}

__device__ __forceinline__ unsigned int WarpMax(unsigned int v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(0xFFFFFFFFu, v, o));
  return v;
}

__device__ __forceinline__ unsigned long long WarpMax64(unsigned long long v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const unsigned long long t = __shfl_xor_sync(0xFFFFFFFFu, v, o);
    v = t > v ? t : v;
  }
  return v;
}

__global__ void ScalesKernel(const SampleDesc *descs) {
  const SampleDesc d = descs[blockIdx.y];  // a local copy: no reloads after stores
  const int h = d.io.height, w = d.io.width, stride = w + 1;
  const int64_t total = Pixels(d);
  unsigned int max_on = 0, max_off = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int y = static_cast<int>(i / w), x = static_cast<int>(i % w);
    const int c = d.gray[i];
    uint32_t sum_on = 0, sum_off = 0;
#pragma unroll
    for (int s = 0; s < kNumScales; ++s) {
      const int n = ScaleRadius(s);
      const int x1 = WindowLo(x, n, w), x2 = WindowHi(x, n, w);
      const int y1 = WindowLo(y, n, h), y2 = WindowHi(y, n, h);
      const float *top = d.integral + static_cast<int64_t>(y1) * stride;
      const float *bottom = d.integral + static_cast<int64_t>(y2) * stride;
      const float sum = WindowSum(bottom[x2], top[x1], bottom[x1], top[x2]);
      const float mean = SurroundMean(sum, c, (x2 - x1) * (y2 - y1));
      uint32_t on, off;
      OnOff(c, mean, on, off);
      sum_on += on;
      sum_off += off;
    }
    d.sum_on[i] = static_cast<uint16_t>(sum_on);
    d.sum_off[i] = static_cast<uint16_t>(sum_off);
    max_on = max(max_on, sum_on);
    max_off = max(max_off, sum_off);
  }
  max_on = WarpMax(max_on);
  max_off = WarpMax(max_off);
  if ((threadIdx.x & 31) == 0) {
    if (max_on) atomicMax(&d.stats->max_on, max_on);
    if (max_off) atomicMax(&d.stats->max_off, max_off);
  }
}

template <bool kFloat>
__global__ void MixKernel(const SampleDesc *descs) {
  const SampleDesc d = descs[blockIdx.y];  // a local copy: no reloads after stores
  const int64_t total = Pixels(d);
  const uint32_t max_on = d.stats->max_on, max_off = d.stats->max_off;
  const uint32_t mix_max = MixMaximum(max_on, max_off);
  unsigned long long best = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint32_t on8 = NormalizeScaleSum(d.sum_on[i], max_on);
    const uint32_t off8 = NormalizeScaleSum(d.sum_off[i], max_off);
    const uint32_t k = MixOnOff(on8, off8, mix_max);
    if (kFloat)
      static_cast<float *>(d.io.map)[i] = SaliencyToFloat(k);
    else
      static_cast<uint8_t *>(d.io.map)[i] = static_cast<uint8_t>(k);
    const unsigned long long key =
        (static_cast<unsigned long long>(k) << 32) | (0xFFFFFFFFull - static_cast<uint64_t>(i));
    best = key > best ? key : best;
  }
  best = WarpMax64(best);
  if ((threadIdx.x & 31) == 0) atomicMax(&d.stats->peak_key, best);
}

__global__ void PeakKernel(const SampleDesc *descs, int n) {
  const int s = blockIdx.x * blockDim.x + threadIdx.x;
  if (s >= n) return;
  const SampleDesc d = descs[s];
  if (!d.io.peak) return;
  const unsigned long long key = d.stats->peak_key;
  const int64_t index = static_cast<int64_t>(0xFFFFFFFFull - (key & 0xFFFFFFFFull));
  PeakPosition(index, d.io.width, d.io.peak);
}

/// The largest sample of a batch, which sizes the grids.
struct BatchExtent {
  int64_t max_pixels = 0;
  int max_height = 0, max_width = 0;
};

/// The samples' descriptors, into the host staging `host_descs`: each sample's buffers in its
/// part of the scratch (`base`, as `layout` places them). Returns the batch's extent.
BatchExtent FillDescs(const SaliencySample *samples, int num_samples, const Layout &layout,
                      uint8_t *base, SampleDesc *host_descs) {
  auto *stats = reinterpret_cast<SampleStats *>(base + layout.stats);
  BatchExtent e;
  for (int i = 0; i < num_samples; ++i) {
    const SaliencySample &s = samples[i];
    const SampleOffsets o = OffsetsOf(s);
    uint8_t *at = base + layout.offsets[i];
    SampleDesc d;
    d.io = s;
    d.blurred_once = at;
    d.gray = at + o.gray;
    d.integral = reinterpret_cast<float *>(at + o.integral);
    d.sum_on = reinterpret_cast<uint16_t *>(at + o.sum_on);
    d.sum_off = reinterpret_cast<uint16_t *>(at + o.sum_off);
    d.stats = stats + i;
    host_descs[i] = d;
    e.max_pixels = std::max<int64_t>(e.max_pixels, static_cast<int64_t>(s.height) * s.width);
    e.max_height = std::max(e.max_height, s.height);
    e.max_width = std::max(e.max_width, s.width);
  }
  return e;
}

/// Stages 1 to 6 on `stream`, for every sample of `descs` (device): the grids sized for the
/// batch's largest sample, blockIdx.y the sample, at most kMaxGridY samples a launch.
cudaError_t LaunchStages(const SampleDesc *descs, int num_samples, const BatchExtent &e,
                         bool float_output, cudaStream_t stream) {
  auto blocks_for = [](int64_t items, int per_block) {
    const int64_t b = (items + per_block - 1) / per_block;
    return static_cast<unsigned>(std::clamp<int64_t>(b, 1, kMaxBlocksPerSample));
  };
  for (int first = 0; first < num_samples; first += kMaxGridY) {
    const int count = std::min(kMaxGridY, num_samples - first);
    const SampleDesc *chunk = descs + first;
    const dim3 pixel_grid(blocks_for(e.max_pixels, kBlock), count);
    const dim3 row_grid(blocks_for(e.max_height, kBlock / 32), count);
    const dim3 column_grid(blocks_for(e.max_width + 1, kBlock), count);

    BlurKernel<true><<<pixel_grid, kBlock, 0, stream>>>(chunk);
    DSM_CUDA_TRY(cudaGetLastError());
    BlurKernel<false><<<pixel_grid, kBlock, 0, stream>>>(chunk);
    DSM_CUDA_TRY(cudaGetLastError());
    RowPrefixKernel<<<row_grid, kBlock, 0, stream>>>(chunk);
    DSM_CUDA_TRY(cudaGetLastError());
    ColumnAccumulateKernel<<<column_grid, kBlock, 0, stream>>>(chunk);
    DSM_CUDA_TRY(cudaGetLastError());
    ScalesKernel<<<pixel_grid, kBlock, 0, stream>>>(chunk);
    DSM_CUDA_TRY(cudaGetLastError());
    if (float_output)
      MixKernel<true><<<pixel_grid, kBlock, 0, stream>>>(chunk);
    else
      MixKernel<false><<<pixel_grid, kBlock, 0, stream>>>(chunk);
    DSM_CUDA_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

}  // namespace

size_t SaliencyCudaScratchBytes(const SaliencySample *samples, int num_samples) {
  return PlanLayout(samples, num_samples).total;
}

size_t SaliencyCudaStagingBytes(int num_samples) { return sizeof(SampleDesc) * num_samples; }

cudaError_t SaliencyCuda(const SaliencySample *samples, int num_samples, bool float_output,
                         void *scratch, size_t scratch_bytes, void *staging,
                         cudaStream_t stream) {
  if (num_samples <= 0) return cudaSuccess;
  const Layout layout = PlanLayout(samples, num_samples);
  if (scratch_bytes < layout.total) return cudaErrorInvalidValue;
  auto *base = static_cast<uint8_t *>(scratch);
  auto *host_descs = static_cast<SampleDesc *>(staging);
  const BatchExtent extent = FillDescs(samples, num_samples, layout, base, host_descs);
  auto *descs = reinterpret_cast<SampleDesc *>(base + layout.descs);
  DSM_CUDA_TRY(cudaMemcpyAsync(descs, host_descs, sizeof(SampleDesc) * num_samples,
                               cudaMemcpyHostToDevice, stream));
  DSM_CUDA_TRY(cudaMemsetAsync(base + layout.stats, 0, sizeof(SampleStats) * num_samples,
                               stream));
  DSM_CUDA_TRY(LaunchStages(descs, num_samples, extent, float_output, stream));
  PeakKernel<<<(num_samples + 127) / 128, 128, 0, stream>>>(descs, num_samples);
  DSM_CUDA_TRY(cudaGetLastError());
  return cudaSuccess;
}

}  // namespace dsm
