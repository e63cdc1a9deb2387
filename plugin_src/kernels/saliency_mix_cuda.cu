// The mixing family on CUDA: peaks (the saliency kernels) -> decide (box, lam, kind) -> paste or
// blend -> labels.
#include "saliency_mix_cuda.h"

#include <algorithm>
#include <vector>

#include "cuda_try.h"
#include "fine_grained_saliency_cuda.h"
#include "mix_math.h"

namespace dsm {
namespace {

constexpr size_t kAlign = 256;
size_t AlignUp(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

/// Device view of one sample, filled on the host except for the decision.
struct MixDesc {
  MixSample io;
  const uint8_t *source_image;
  const float *source_soft_label;
  int32_t source_label_id;
  MixDraw governing;    // GoverningDraw: the lam, flip, switch and box draws of sample i
  const int32_t *peak;  // (y, x) of the image a saliency box is centred on (PeakImage), or null
  MixDecision decision; // decided on the device
};

__global__ void DecideKernel(MixDesc *descs, int n, MixRule rule) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  MixDesc &d = descs[i];
  const int py = d.peak ? d.peak[0] : 0, px = d.peak ? d.peak[1] : 0;
  const MixDraw &g = d.governing;
  const MixDecision m = DecideMix(rule, g.lam, g.apply, g.cutmix, g.box_draw, py, px);
  d.decision = m;
  if (d.io.out_box) {
    d.io.out_box[0] = m.box.y1;
    d.io.out_box[1] = m.box.x1;
    d.io.out_box[2] = m.box.y2;
    d.io.out_box[3] = m.box.x2;
  }
  if (d.io.out_lam) *d.io.out_lam = m.lam;
  if (d.io.out_source) *d.io.out_source = d.io.source;
}

/// The pixels of sample blockIdx.y: the target, with the box from the source (CutMix) or
/// blended with the source (MixUp). Rows are grid-strided over blockIdx.x, the bytes of a row
/// over the threads: no division per byte.
__global__ void PixelKernel(const MixDesc *descs, int height, int row_bytes, int channels) {
  const MixDesc &d = descs[blockIdx.y];
  const MixKind kind = d.decision.kind;
  const Box box = d.decision.box;
  const float lam = d.decision.lam;
  const float rest = __fsub_rn(1.0f, lam);
  const uint8_t *target = d.io.image;
  const uint8_t *source = d.source_image;
  uint8_t *out = d.io.out_image;
  const int box_lo = box.x1 * channels, box_hi = box.x2 * channels;
  for (int y = blockIdx.x; y < height; y += gridDim.x) {
    const size_t row = static_cast<size_t>(y) * row_bytes;
    const uint8_t *t = target + row;
    const uint8_t *s = source + row;
    uint8_t *o = out + row;
    if (kind == MixKind::kMixUp) {
      for (int b = threadIdx.x; b < row_bytes; b += blockDim.x)
        o[b] = BlendPixel(t[b], s[b], lam, rest);
    } else {
      const bool box_row = kind == MixKind::kCutMix && y >= box.y1 && y < box.y2;
      for (int b = threadIdx.x; b < row_bytes; b += blockDim.x)
        o[b] = box_row && b >= box_lo && b < box_hi ? s[b] : t[b];
    }
  }
}

__global__ void LabelKernel(const MixDesc *descs, int num_classes, float smoothing) {
  const MixDesc &d = descs[blockIdx.y];
  const float lam = d.decision.lam;
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < num_classes;
       c += gridDim.x * blockDim.x) {
    const float t = LabelValue(d.io.soft_label, d.io.label_id, c);
    const float s = LabelValue(d.source_soft_label, d.source_label_id, c);
    d.io.out_label[c] = MixLabel(SmoothLabel(t, smoothing, num_classes),
                                 SmoothLabel(s, smoothing, num_classes), lam);
  }
}

}  // namespace

MixPlanCuda PlanSaliencyMixCuda(const MixConfig &c, const MixSample *samples) {
  MixPlanCuda l;
  l.config = c;
  l.mix = PlanMix(c, samples);
  const size_t n = static_cast<size_t>(c.num_samples < 0 ? 0 : c.num_samples);
  const size_t num_peaks = l.mix.peak_images.size();
  const size_t pixels = static_cast<size_t>(c.height) * c.width;
  std::vector<SaliencySample> peak_samples(num_peaks);
  for (auto &s : peak_samples) s = {nullptr, nullptr, nullptr, c.height, c.width, c.channels};
  l.descs = 0;
  l.peaks = AlignUp(sizeof(MixDesc) * n);
  l.maps = l.peaks + AlignUp(sizeof(int32_t) * 2 * n);
  l.saliency = l.maps + AlignUp(pixels) * num_peaks;
  l.scratch_bytes =
      l.saliency + SaliencyCudaScratchBytes(peak_samples.data(), static_cast<int>(num_peaks));
  l.staging_descs = 0;
  l.staging_saliency = AlignUp(sizeof(MixDesc) * n);
  l.staging_bytes = l.staging_saliency + SaliencyCudaStagingBytes(static_cast<int>(num_peaks));
  return l;
}

cudaError_t SaliencyMixCuda(const MixPlanCuda &l, const MixSample *samples, void *scratch,
                            size_t scratch_bytes, void *staging, size_t staging_bytes,
                            cudaStream_t stream) {
  const MixConfig &c = l.config;
  const int n = c.num_samples;
  if (n <= 0) return cudaSuccess;
  if (scratch_bytes < l.scratch_bytes || staging_bytes < l.staging_bytes)
    return cudaErrorInvalidValue;
  auto *base = static_cast<uint8_t *>(scratch);
  auto *descs = reinterpret_cast<MixDesc *>(base + l.descs);
  auto *peaks = reinterpret_cast<int32_t *>(base + l.peaks);
  auto *host = static_cast<uint8_t *>(staging);
  auto *host_descs = reinterpret_cast<MixDesc *>(host + l.staging_descs);
  const std::vector<int> &peak_images = l.mix.peak_images;
  const MixDraw *draws = l.mix.draws.data();

  // 1. Saliency peaks of the images that the applied saliency boxes are centred on.
  const size_t pixels = static_cast<size_t>(c.height) * c.width;
  std::vector<SaliencySample> peak_samples(peak_images.size());
  for (size_t k = 0; k < peak_images.size(); ++k) {
    const int j = peak_images[k];
    peak_samples[k] = {samples[j].image, base + l.maps + AlignUp(pixels) * k,
                       peaks + 2 * static_cast<size_t>(j), c.height, c.width, c.channels};
  }
  if (!peak_samples.empty()) {
    DSM_CUDA_TRY(SaliencyCuda(peak_samples.data(), static_cast<int>(peak_samples.size()), false,
                              base + l.saliency, l.scratch_bytes - l.saliency,
                              host + l.staging_saliency, stream));
  }

  // 2. Per-sample descriptors: the governing draw, the source, the peak (the CPU path's rules).
  for (int i = 0; i < n; ++i) {
    const MixDraw draw = GoverningDraw(draws, i, c.mode);
    const MixSample &source = samples[draw.source];
    MixDesc d{};
    d.io = samples[i];
    d.source_image = source.image;
    d.source_soft_label = source.soft_label;
    d.source_label_id = source.label_id;
    d.governing = draw;
    const size_t peak_image = static_cast<size_t>(PeakImage(draws, i, c.mode));
    d.peak = NeedsPeak(c, draw) ? peaks + 2 * peak_image : nullptr;
    host_descs[i] = d;
  }
  DSM_CUDA_TRY(cudaMemcpyAsync(descs, host_descs, sizeof(MixDesc) * n, cudaMemcpyHostToDevice,
                               stream));

  // 3. Decisions, then the pixels and the labels.
  DecideKernel<<<(n + 127) / 128, 128, 0, stream>>>(descs, n, c.Rule());
  DSM_CUDA_TRY(cudaGetLastError());
  const int row_bytes = c.width * c.channels;  // <= 65,793 * 3
  const unsigned row_blocks = static_cast<unsigned>(std::min(c.height, 4096));
  const unsigned row_threads = row_bytes >= 512 ? 256 : (row_bytes >= 128 ? 128 : 32);
  constexpr int kMaxGridY = 65535;
  for (int first = 0; first < n; first += kMaxGridY) {
    const int count = std::min(kMaxGridY, n - first);
    PixelKernel<<<dim3(row_blocks, count), row_threads, 0, stream>>>(descs + first, c.height,
                                                                     row_bytes, c.channels);
    DSM_CUDA_TRY(cudaGetLastError());
    const unsigned label_blocks = static_cast<unsigned>((c.num_classes + 255) / 256);
    LabelKernel<<<dim3(label_blocks, count), 256, 0, stream>>>(descs + first, c.num_classes,
                                                               c.label_smoothing);
    DSM_CUDA_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

}  // namespace dsm
