// CUDA SaliencyMix: peaks (the saliency kernels) -> decide (box, lam) -> paste -> labels.
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

/// Device view of one pair, filled on the host except for the decision.
struct MixDesc {
  MixSample io;
  const uint8_t *source_image;
  const float *source_soft_label;
  int32_t source_label_id;
  float governing_lam;     // sample 0's in batch mode (GoverningDraw)
  int32_t governing_apply;
  const int32_t *peak;     // (y, x) of the image the box is centred on (PeakImage)
  Box box;                 // decided on the device
  float lam;
};

__global__ void DecideKernel(MixDesc *descs, int n, int height, int width, bool correct_lam) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  MixDesc &d = descs[i];
  const int py = d.peak ? d.peak[0] : 0, px = d.peak ? d.peak[1] : 0;
  const MixDecision m = DecideMix(height, width, d.governing_lam, d.governing_apply != 0, py, px,
                                  correct_lam);
  d.box = m.box;
  d.lam = m.lam;
  if (d.io.out_box) {
    d.io.out_box[0] = m.box.y1;
    d.io.out_box[1] = m.box.x1;
    d.io.out_box[2] = m.box.y2;
    d.io.out_box[3] = m.box.x2;
  }
  if (d.io.out_lam) *d.io.out_lam = m.lam;
  if (d.io.out_source) *d.io.out_source = d.io.source;
}

/// out = target outside the box, source inside; one thread per byte, grid-stride.
__global__ void PasteKernel(const MixDesc *descs, int height, int width, int channels) {
  const MixDesc d = descs[blockIdx.y];
  const int64_t row = static_cast<int64_t>(width) * channels;
  const int64_t total = row * height;
  for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < total;
       b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int y = static_cast<int>(b / row);
    const int x = static_cast<int>((b % row) / channels);
    const bool inside = y >= d.box.y1 && y < d.box.y2 && x >= d.box.x1 && x < d.box.x2;
    d.io.out_image[b] = inside ? d.source_image[b] : d.io.image[b];
  }
}

__global__ void LabelKernel(const MixDesc *descs, int num_classes, float smoothing) {
  const MixDesc &d = descs[blockIdx.y];
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < num_classes;
       c += gridDim.x * blockDim.x) {
    const float t = LabelValue(d.io.soft_label, d.io.label_id, c);
    const float s = LabelValue(d.source_soft_label, d.source_label_id, c);
    d.io.out_label[c] = MixLabel(SmoothLabel(t, smoothing, num_classes),
                                 SmoothLabel(s, smoothing, num_classes), d.lam);
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

  // 1. Saliency peaks of the images that the applied pairs centre their boxes on.
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

  // 2. Per-pair descriptors: the governing draw, the source, the peak (the CPU path's rules).
  for (int i = 0; i < n; ++i) {
    const MixDraw draw = GoverningDraw(draws, i, c.batch_mode);
    const MixSample &source = samples[draw.source];
    MixDesc d{};
    d.io = samples[i];
    d.source_image = source.image;
    d.source_soft_label = source.soft_label;
    d.source_label_id = source.label_id;
    d.governing_lam = draw.lam;
    d.governing_apply = draw.apply ? 1 : 0;
    const size_t peak_image = static_cast<size_t>(PeakImage(draws, i, c.batch_mode));
    d.peak = draw.apply ? peaks + 2 * peak_image : nullptr;
    host_descs[i] = d;
  }
  DSM_CUDA_TRY(cudaMemcpyAsync(descs, host_descs, sizeof(MixDesc) * n, cudaMemcpyHostToDevice,
                               stream));

  // 3. Boxes and weights, then the paste and the labels.
  DecideKernel<<<(n + 127) / 128, 128, 0, stream>>>(descs, n, c.height, c.width, c.correct_lam);
  DSM_CUDA_TRY(cudaGetLastError());
  const int64_t bytes = static_cast<int64_t>(pixels) * c.channels;
  constexpr int kMaxGridY = 65535;
  for (int first = 0; first < n; first += kMaxGridY) {
    const int count = std::min(kMaxGridY, n - first);
    const unsigned paste_blocks =
        static_cast<unsigned>(std::clamp<int64_t>((bytes + 1023) / 1024, 1, 1024));
    PasteKernel<<<dim3(paste_blocks, count), 256, 0, stream>>>(descs + first, c.height, c.width,
                                                               c.channels);
    DSM_CUDA_TRY(cudaGetLastError());
    const unsigned label_blocks = static_cast<unsigned>((c.num_classes + 255) / 256);
    LabelKernel<<<dim3(label_blocks, count), 256, 0, stream>>>(descs + first, c.num_classes,
                                                               c.label_smoothing);
    DSM_CUDA_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

}  // namespace dsm
