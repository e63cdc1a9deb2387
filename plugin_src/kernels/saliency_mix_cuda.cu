// CUDA SaliencyMix: peaks (the saliency kernels) -> decide (box, lam) -> paste -> labels.
#include "saliency_mix_cuda.h"

#include <algorithm>
#include <vector>

#include "mix_math.h"
#include "fine_grained_saliency_cuda.h"
#include "saliency_mix_cpu.h"

namespace dsm {
namespace {

constexpr size_t kAlign = 256;
size_t AlignUp(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

/// Device view of one pair, filled on the host except for the decision.
struct MixDesc {
  MixSampleCuda io;
  const uint8_t *source_image;
  const float *source_soft_label;
  int32_t source_label_id;
  float governing_lam;     // sample 0's in batch mode
  int32_t governing_apply;
  const int32_t *peak;     // (y, x) of the image the box is centred on
  Box box;                 // decided on the device
  float lam;
};

struct MixLayout {
  size_t descs = 0, peaks = 0, maps = 0, saliency = 0, total = 0;
  size_t staging_descs = 0, staging_saliency = 0, staging_total = 0;
  std::vector<int> peak_images;  // images whose saliency peak is needed
};

MixLayout PlanMix(const MixConfigCuda &c, const MixSampleCuda *samples) {
  MixLayout l;
  std::vector<MixDraw> draws(c.num_samples);
  for (int i = 0; i < c.num_samples; ++i)
    draws[i] = {samples[i].source, samples[i].lam, samples[i].apply != 0};
  std::vector<uint8_t> needed(c.num_samples);
  ImagesNeedingPeaks(draws.data(), c.num_samples, c.batch_mode, needed.data());
  for (int j = 0; j < c.num_samples; ++j)
    if (needed[j]) l.peak_images.push_back(j);
  const size_t pixels = static_cast<size_t>(c.height) * c.width;
  std::vector<SaliencySample> peak_samples(l.peak_images.size());
  for (auto &s : peak_samples) s = {nullptr, nullptr, nullptr, c.height, c.width, c.channels};
  l.descs = 0;
  l.peaks = AlignUp(sizeof(MixDesc) * c.num_samples);
  l.maps = l.peaks + AlignUp(sizeof(int32_t) * 2 * c.num_samples);
  l.saliency = l.maps + AlignUp(pixels) * l.peak_images.size();
  l.total = l.saliency +
            SaliencyCudaScratchBytes(peak_samples.data(), static_cast<int>(peak_samples.size()));
  l.staging_descs = 0;
  l.staging_saliency = AlignUp(sizeof(MixDesc) * c.num_samples);
  l.staging_total =
      l.staging_saliency + SaliencyCudaStagingBytes(static_cast<int>(l.peak_images.size()));
  return l;
}

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
    const float t = d.io.soft_label ? d.io.soft_label[c] : (c == d.io.label_id ? 1.0f : 0.0f);
    const float s =
        d.source_soft_label ? d.source_soft_label[c] : (c == d.source_label_id ? 1.0f : 0.0f);
    d.io.out_label[c] = MixLabel(SmoothLabel(t, smoothing, num_classes),
                                 SmoothLabel(s, smoothing, num_classes), d.lam);
  }
}

#define DSM_CUDA_TRY(expr)                        \
  do {                                            \
    const cudaError_t dsm_err_ = (expr);          \
    if (dsm_err_ != cudaSuccess) return dsm_err_; \
  } while (0)

}  // namespace

size_t SaliencyMixCudaScratchBytes(const MixConfigCuda &config, const MixSampleCuda *samples) {
  return PlanMix(config, samples).total;
}

size_t SaliencyMixCudaStagingBytes(const MixConfigCuda &config, const MixSampleCuda *samples) {
  return PlanMix(config, samples).staging_total;
}

cudaError_t SaliencyMixCuda(const MixConfigCuda &c, const MixSampleCuda *samples, void *scratch,
                            size_t scratch_bytes, void *staging, size_t staging_bytes,
                            cudaStream_t stream) {
  const int n = c.num_samples;
  if (n <= 0) return cudaSuccess;
  const MixLayout l = PlanMix(c, samples);
  if (scratch_bytes < l.total || staging_bytes < l.staging_total) return cudaErrorInvalidValue;
  auto *base = static_cast<uint8_t *>(scratch);
  auto *descs = reinterpret_cast<MixDesc *>(base + l.descs);
  auto *peaks = reinterpret_cast<int32_t *>(base + l.peaks);
  auto *host = static_cast<uint8_t *>(staging);
  auto *host_descs = reinterpret_cast<MixDesc *>(host + l.staging_descs);

  // 1. Saliency peaks of the images that the applied pairs centre their boxes on.
  const size_t pixels = static_cast<size_t>(c.height) * c.width;
  std::vector<SaliencySample> peak_samples(l.peak_images.size());
  for (size_t k = 0; k < l.peak_images.size(); ++k) {
    const int j = l.peak_images[k];
    peak_samples[k] = {samples[j].image, base + l.maps + AlignUp(pixels) * k, peaks + 2 * j,
                       c.height, c.width, c.channels};
  }
  if (!peak_samples.empty()) {
    DSM_CUDA_TRY(SaliencyCuda(peak_samples.data(), static_cast<int>(peak_samples.size()), false,
                              base + l.saliency, l.total - l.saliency,
                              host + l.staging_saliency, stream));
  }

  // 2. Per-pair descriptors: the governing draw, the source, the peak.
  for (int i = 0; i < n; ++i) {
    MixDesc d{};
    d.io = samples[i];
    const int j = samples[i].source;
    d.source_image = samples[j].image;
    d.source_soft_label = samples[j].soft_label;
    d.source_label_id = samples[j].label_id;
    d.governing_lam = c.batch_mode ? samples[0].lam : samples[i].lam;
    d.governing_apply = c.batch_mode ? samples[0].apply : samples[i].apply;
    d.peak = d.governing_apply ? peaks + 2 * (c.batch_mode ? samples[0].source : j) : nullptr;
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
