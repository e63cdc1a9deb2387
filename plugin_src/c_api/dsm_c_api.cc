// extern "C" surface over the kernels; validates arguments and turns failures into messages.
#include "dsm_c_api.h"

#include <exception>
#include <string>
#include <vector>

#include "../kernels/image_checks.h"
#include "../kernels/mix_checks.h"
#include "../kernels/fine_grained_saliency_cpu.h"
#include "../kernels/saliency_mix_cpu.h"
#if DSM_WITH_CUDA
#include <cuda_runtime_api.h>

#include "../kernels/cuda_driver_check.h"
#include "../kernels/fine_grained_saliency_cuda.h"
#include "../kernels/saliency_mix_cuda.h"
#endif

#ifndef DSM_VERSION
#define DSM_VERSION "0.0.0"
#endif

namespace {

thread_local std::string last_error;

int32_t Fail(const std::string &message) {
  last_error = message;
  return 1;
}

#if DSM_WITH_CUDA
/// Keeps freed stream-ordered scratch in the device's default pool between calls (the default
/// release threshold of 0 would hand it back to the driver at every synchronisation).
cudaError_t KeepScratchPooled() {
  thread_local int configured_device = -1;
  int device = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err != cudaSuccess || device == configured_device) return err;
  cudaMemPool_t pool;
  err = cudaDeviceGetDefaultMemPool(&pool, device);
  if (err != cudaSuccess) return err;
  uint64_t threshold = UINT64_MAX;
  err = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold);
  if (err == cudaSuccess) configured_device = device;
  return err;
}
#endif

}  // namespace

extern "C" {

const char *dsm_version(void) { return DSM_VERSION; }

int32_t dsm_cuda_toolkit_version(void) {
#if DSM_WITH_CUDA
  return CUDART_VERSION;
#else
  return 0;
#endif
}

const char *dsm_last_error(void) { return last_error.c_str(); }

int32_t dsm_saliency_cpu(const uint8_t *image, int32_t height, int32_t width, int32_t channels,
                         void *map, int32_t float_output, int64_t *peak_index) {
  const std::string shape_error = dsm::CheckImageShape(height, width, channels);
  if (!shape_error.empty()) return Fail("dsm_saliency_cpu: image: " + shape_error);
  if (!image || !map) return Fail("dsm_saliency_cpu: image and map must not be NULL");
  try {
    dsm::SaliencyOutput out;
    if (float_output)
      out.f32 = static_cast<float *>(map);
    else
      out.u8 = static_cast<uint8_t *>(map);
    const int64_t peak = dsm::SaliencyMapCpu(image, height, width, channels, out);
    if (peak_index) *peak_index = peak;
    return 0;
  } catch (const std::exception &e) {
    return Fail(std::string("dsm_saliency_cpu: ") + e.what());
  }
}

int32_t dsm_saliency_mix_cpu(const uint8_t *images, int32_t num_samples, int32_t height,
                             int32_t width, int32_t channels, const int32_t *label_ids,
                             const float *soft_labels, int32_t num_classes,
                             float label_smoothing, const int32_t *source, const float *lam,
                             const uint8_t *apply, int32_t batch_mode, int32_t correct_lam,
                             uint8_t *out_images, float *out_labels, int32_t *out_boxes,
                             float *out_lam) {
  const std::string where = "dsm_saliency_mix_cpu: ";
  std::vector<dsm::MixDraw> draws;
  if ((label_ids == nullptr) == (soft_labels == nullptr))
    return Fail(where + "give exactly one of label_ids and soft_labels");
  const std::string error =
      dsm::CheckMixArguments(num_samples, height, width, channels, label_ids, num_classes,
                             label_smoothing, source, lam, apply, draws);
  if (!error.empty()) return Fail(where + error);
  if (!images || !out_images || !out_labels) return Fail(where + "images and outputs must not be NULL");
  const bool batch = batch_mode != 0;
  const size_t image_bytes = static_cast<size_t>(height) * width * channels;
  std::vector<uint8_t> needed(num_samples);
  std::vector<int32_t> peaks(2 * static_cast<size_t>(num_samples), 0);
  dsm::ImagesNeedingPeaks(draws.data(), num_samples, batch, needed.data());
  for (int j = 0; j < num_samples; ++j)
    if (needed[j])
      dsm::SaliencyPeakCpu(images + j * image_bytes, height, width, channels, &peaks[2 * j]);
  for (int i = 0; i < num_samples; ++i) {
    const dsm::MixDraw draw = dsm::GoverningDraw(draws.data(), i, batch);
    const int32_t *peak = &peaks[2 * dsm::PeakImage(draws.data(), i, batch)];
    const dsm::MixDecision d =
        dsm::DecideMix(height, width, draw.lam, draw.apply, peak[0], peak[1], correct_lam != 0);
    const int j = draw.source;
    dsm::PasteCpu(images + i * image_bytes, images + j * image_bytes,
                  out_images + i * image_bytes, height, width, channels, d.box);
    float *label = out_labels + static_cast<size_t>(i) * num_classes;
    if (label_ids)
      dsm::MixClassLabelsCpu(label_ids[i], label_ids[j], num_classes, label_smoothing, d.lam,
                             label);
    else
      dsm::MixSoftLabelsCpu(soft_labels + static_cast<size_t>(i) * num_classes,
                            soft_labels + static_cast<size_t>(j) * num_classes, num_classes,
                            label_smoothing, d.lam, label);
    if (out_boxes) {
      int32_t *b = out_boxes + 4 * static_cast<size_t>(i);
      b[0] = d.box.y1;
      b[1] = d.box.x1;
      b[2] = d.box.y2;
      b[3] = d.box.x2;
    }
    if (out_lam) out_lam[i] = d.lam;
  }
  return 0;
}

int32_t dsm_saliency_cuda(const dsm_sample *samples, int32_t num_samples, int32_t float_output,
                          void *stream) {
#if DSM_WITH_CUDA
  if (num_samples < 0 || (num_samples > 0 && !samples))
    return Fail("dsm_saliency_cuda: expected num_samples >= 0 and a sample array");
  std::vector<dsm::SaliencySample> batch(num_samples);
  for (int i = 0; i < num_samples; ++i) {
    const dsm_sample &s = samples[i];
    const std::string shape_error = dsm::CheckImageShape(s.height, s.width, s.channels);
    if (!shape_error.empty())
      return Fail("dsm_saliency_cuda: sample " + std::to_string(i) + ": " + shape_error);
    if (!s.image || !s.map)
      return Fail("dsm_saliency_cuda: sample " + std::to_string(i) +
                  ": image and map must not be NULL");
    batch[i] = {s.image, s.map, s.peak, s.height, s.width, s.channels};
  }
  if (num_samples == 0) return 0;
  const std::string driver_error = dsm::CheckCudaDriver();
  if (!driver_error.empty()) return Fail("dsm_saliency_cuda: " + driver_error);
  auto cuda_stream = static_cast<cudaStream_t>(stream);
  cudaError_t err = KeepScratchPooled();
  if (err != cudaSuccess)
    return Fail(std::string("dsm_saliency_cuda: memory pool setup: ") + cudaGetErrorString(err));
  const size_t bytes = dsm::SaliencyCudaScratchBytes(batch.data(), num_samples);
  std::vector<unsigned char> staging(dsm::SaliencyCudaStagingBytes(num_samples));
  void *scratch = nullptr;
  err = cudaMallocAsync(&scratch, bytes, cuda_stream);
  if (err != cudaSuccess)
    return Fail(std::string("dsm_saliency_cuda: cudaMallocAsync: ") + cudaGetErrorString(err));
  err = dsm::SaliencyCuda(batch.data(), num_samples, float_output != 0, scratch, bytes,
                          staging.data(), cuda_stream);
  const cudaError_t free_err = cudaFreeAsync(scratch, cuda_stream);
  if (err != cudaSuccess)
    return Fail(std::string("dsm_saliency_cuda: ") + cudaGetErrorString(err));
  if (free_err != cudaSuccess)
    return Fail(std::string("dsm_saliency_cuda: cudaFreeAsync: ") + cudaGetErrorString(free_err));
  return 0;
#else
  (void)samples;
  (void)num_samples;
  (void)float_output;
  (void)stream;
  return Fail("dsm_saliency_cuda: this build of dali-saliencymix has no CUDA support "
              "(rebuild with a CUDA compiler on the PATH, or -DDSM_CUDA=ON)");
#endif
}

int32_t dsm_saliency_mix_cuda(const uint8_t *images, int32_t num_samples, int32_t height,
                              int32_t width, int32_t channels, const float *soft_labels,
                              int32_t num_classes, float label_smoothing, const int32_t *source,
                              const float *lam, const uint8_t *apply, int32_t batch_mode,
                              int32_t correct_lam, uint8_t *out_images, float *out_labels,
                              int32_t *out_boxes, float *out_lam, void *stream) {
  const std::string where = "dsm_saliency_mix_cuda: ";
#if DSM_WITH_CUDA
  std::vector<dsm::MixDraw> draws;
  const std::string error =
      dsm::CheckMixArguments(num_samples, height, width, channels, nullptr, num_classes,
                             label_smoothing, source, lam, apply, draws);
  if (!error.empty()) return Fail(where + error);
  if (!images || !soft_labels || !out_images || !out_labels)
    return Fail(where + "images, soft_labels and outputs must not be NULL");
  const std::string driver_error = dsm::CheckCudaDriver();
  if (!driver_error.empty()) return Fail(where + driver_error);
  auto cuda_stream = static_cast<cudaStream_t>(stream);
  cudaError_t err = KeepScratchPooled();
  if (err != cudaSuccess) return Fail(where + "memory pool setup: " + cudaGetErrorString(err));
  dsm::MixConfigCuda config;
  config.num_samples = num_samples;
  config.height = height;
  config.width = width;
  config.channels = channels;
  config.num_classes = num_classes;
  config.label_smoothing = label_smoothing;
  config.batch_mode = batch_mode != 0;
  config.correct_lam = correct_lam != 0;
  const size_t image_bytes = static_cast<size_t>(height) * width * channels;
  std::vector<dsm::MixSampleCuda> samples(num_samples);
  for (int i = 0; i < num_samples; ++i) {
    auto &s = samples[i];
    s.image = images + i * image_bytes;
    s.out_image = out_images + i * image_bytes;
    s.soft_label = soft_labels + static_cast<size_t>(i) * num_classes;
    s.out_label = out_labels + static_cast<size_t>(i) * num_classes;
    s.out_box = out_boxes ? out_boxes + 4 * static_cast<size_t>(i) : nullptr;
    s.out_lam = out_lam ? out_lam + i : nullptr;
    s.source = source[i];
    s.lam = lam[i];
    s.apply = apply[i] ? 1 : 0;
  }
  const size_t bytes = dsm::SaliencyMixCudaScratchBytes(config, samples.data());
  std::vector<unsigned char> staging(dsm::SaliencyMixCudaStagingBytes(config, samples.data()));
  void *scratch = nullptr;
  err = cudaMallocAsync(&scratch, bytes, cuda_stream);
  if (err != cudaSuccess) return Fail(where + "cudaMallocAsync: " + cudaGetErrorString(err));
  err = dsm::SaliencyMixCuda(config, samples.data(), scratch, bytes, staging.data(),
                             staging.size(), cuda_stream);
  const cudaError_t free_err = cudaFreeAsync(scratch, cuda_stream);
  if (err != cudaSuccess) return Fail(where + cudaGetErrorString(err));
  if (free_err != cudaSuccess) return Fail(where + "cudaFreeAsync: " + cudaGetErrorString(free_err));
  return 0;
#else
  (void)images, (void)num_samples, (void)height, (void)width, (void)channels,
      (void)soft_labels, (void)num_classes, (void)label_smoothing, (void)source, (void)lam,
      (void)apply, (void)batch_mode, (void)correct_lam, (void)out_images, (void)out_labels,
      (void)out_boxes, (void)out_lam, (void)stream;
  return Fail(where + "this build of dali-saliencymix has no CUDA support");
#endif
}

}  // extern "C"
