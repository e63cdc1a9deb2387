// extern "C" surface over the kernels: validates arguments and turns every failure into a return
// code and a message. No exception leaves this file: each entry point runs its body in Guarded,
// which catches everything.
#include "dsm_c_api.h"

#include <exception>
#include <new>
#include <string>
#include <vector>

#include "../checks/image_checks.h"
#include "../checks/mix_checks.h"
#include "../mix/mix_cpu.h"
#include "../saliency/fine_grained_saliency_cpu.h"
#if DSM_WITH_CUDA
#include <cuda_runtime_api.h>

#include <map>
#include <mutex>

#include "../checks/cuda_driver_check.h"
#include "../mix/mix_cuda.h"
#include "../saliency/fine_grained_saliency_cuda.h"
#endif

#ifndef DSM_VERSION
#define DSM_VERSION "0.0.0"
#endif

namespace {

thread_local std::string last_error;
/// Set instead of last_error when even the message could not be stored (no memory left).
thread_local const char *last_error_fixed = nullptr;

/// Records "<where>: <what>" as this thread's last error; returns the failure code 1. Never
/// throws: without memory for the message it records a fixed one.
int32_t Fail(const char *where, const char *what) noexcept {
  try {
    last_error = std::string(where) + ": " + what;
    last_error_fixed = nullptr;
  } catch (...) {
    last_error_fixed = "dali-saliencymix: out of memory (std::bad_alloc), and no memory left "
                       "for the message of the failed call";
  }
  return 1;
}

int32_t Fail(const char *where, const std::string &what) noexcept {
  return Fail(where, what.c_str());
}

/// Runs body() (which returns 0 or the result of Fail) and turns any exception into an error
/// code and a message naming the entry point.
template <typename Body>
int32_t Guarded(const char *where, Body &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return Fail(where, "out of memory: the host could not allocate the scratch memory this "
                       "call needs (std::bad_alloc)");
  } catch (const std::exception &e) {
    return Fail(where, e.what());
  } catch (...) {
    return Fail(where, "unknown C++ exception");
  }
}

#if DSM_WITH_CUDA
/// How much freed scratch this library's pool keeps between calls (dsm_c_api.h): up to 256 MiB
/// stays reserved (a batch of 256 images of 224 x 224 needs at most about 136 MiB), and what is
/// above it goes back to the driver at the next synchronisation (of a stream, an event or the
/// device). A threshold of 0 would give everything back at every synchronisation; an unlimited
/// one would keep the high-water mark of the largest batch until the process exits.
constexpr uint64_t kPoolReleaseThreshold = uint64_t{256} << 20;

/// The device whose memory `data` is, where the work on it runs: device and managed memory know
/// their device; host memory (registered or not) falls back to the current device.
cudaError_t DeviceOf(const void *data, int *device) {
  cudaPointerAttributes attributes = {};
  const cudaError_t err = cudaPointerGetAttributes(&attributes, data);
  if (err != cudaSuccess) return err;
  if (attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged) {
    *device = attributes.device;
    return cudaSuccess;
  }
  return cudaGetDevice(device);
}

/// This library's own stream-ordered memory pool on the device of `data` (DeviceOf), created on
/// first use and kept for the life of the process, with the release threshold
/// kPoolReleaseThreshold. The device's default pool, which other libraries share, is left as it
/// is: no process-wide CUDA state is changed.
cudaError_t ScratchPool(const void *data, cudaMemPool_t *pool) {
  int device = 0;
  cudaError_t err = DeviceOf(data, &device);
  if (err != cudaSuccess) return err;
  static std::mutex mutex;
  static std::map<int, cudaMemPool_t> pools;
  std::lock_guard<std::mutex> lock(mutex);
  const auto found = pools.find(device);
  if (found != pools.end()) {
    *pool = found->second;
    return cudaSuccess;
  }
  cudaMemPoolProps props = {};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device;
  cudaMemPool_t created = nullptr;
  err = cudaMemPoolCreate(&created, &props);
  if (err != cudaSuccess) return err;
  uint64_t threshold = kPoolReleaseThreshold;
  err = cudaMemPoolSetAttribute(created, cudaMemPoolAttrReleaseThreshold, &threshold);
  if (err != cudaSuccess) {
    (void)cudaMemPoolDestroy(created);  // the setup error is the one reported
    return err;
  }
  pools.emplace(device, created);
  *pool = created;
  return cudaSuccess;
}

std::string CudaMessage(const char *what, cudaError_t err) {
  return std::string(what) + cudaGetErrorString(err);
}

/// Stream-ordered scratch memory (from ScratchPool) that is handed back even when the call fails
/// by an exception (the error of that cudaFreeAsync cannot be reported then: the exception's
/// message is).
class StreamScratch {
 public:
  explicit StreamScratch(cudaStream_t stream) : stream_(stream) {}
  StreamScratch(const StreamScratch &) = delete;
  StreamScratch &operator=(const StreamScratch &) = delete;
  ~StreamScratch() {
    if (ptr_) (void)cudaFreeAsync(ptr_, stream_);
  }
  cudaError_t Allocate(size_t bytes, cudaMemPool_t pool) {
    return cudaMallocFromPoolAsync(&ptr_, bytes, pool, stream_);
  }
  void *get() const { return ptr_; }
  /// Frees the memory stream-ordered, returning the error of cudaFreeAsync.
  cudaError_t Free() {
    void *p = ptr_;
    ptr_ = nullptr;
    return p ? cudaFreeAsync(p, stream_) : cudaSuccess;
  }

 private:
  cudaStream_t stream_;
  void *ptr_ = nullptr;
};

/// The CUDA part of an entry point: checks the driver, allocates `scratch_bytes` of device
/// scratch stream-ordered from this library's pool on the device of `data` (the call's images)
/// and `staging_bytes` of pageable host staging, runs run(scratch, staging, stream) (which
/// returns the first CUDA error), then frees the scratch stream-ordered. Returns 0, or the
/// result of Fail with the first error.
template <typename Run>
int32_t RunWithScratch(const char *where, const void *data, void *stream, size_t scratch_bytes,
                       size_t staging_bytes, Run &&run) {
  const std::string driver_error = dsm::CheckCudaDriver();
  if (!driver_error.empty()) return Fail(where, driver_error);
  auto cuda_stream = static_cast<cudaStream_t>(stream);
  cudaMemPool_t pool = nullptr;
  cudaError_t err = ScratchPool(data, &pool);
  if (err != cudaSuccess) return Fail(where, CudaMessage("memory pool setup: ", err));
  std::vector<unsigned char> staging(staging_bytes);
  StreamScratch scratch(cuda_stream);
  err = scratch.Allocate(scratch_bytes, pool);
  if (err != cudaSuccess) return Fail(where, CudaMessage("cudaMallocFromPoolAsync: ", err));
  err = run(scratch.get(), staging.data(), cuda_stream);
  const cudaError_t free_err = scratch.Free();
  if (err != cudaSuccess) return Fail(where, CudaMessage("", err));
  if (free_err != cudaSuccess) return Fail(where, CudaMessage("cudaFreeAsync: ", free_err));
  return 0;
}
#else
/// The failure of a CUDA entry point in a build without CUDA.
int32_t NoCuda(const char *where) {
  return Fail(where, "this build of dali-saliencymix has no CUDA support (rebuild with a CUDA "
                     "compiler on the PATH, or -DDSM_CUDA=ON)");
}
#endif

/// Reads the options and the image size of a dsm_mix_args into the kernels' config, checking
/// them (checks/mix_checks.h) and the pointers; returns the error message, or an empty string.
/// `device`: the CUDA entry point (device soft labels, no class ids).
std::string ReadMixConfig(const dsm_mix_args *a, bool device, dsm::MixConfig &config) {
  if (!a) return "args must not be NULL";
  if (device && (a->label_ids || !a->soft_labels))
    return "give soft_labels (device memory, one-hot for class ids); label_ids must be NULL on "
           "CUDA";
  if (!device && (a->label_ids == nullptr) == (a->soft_labels == nullptr))
    return "give exactly one of label_ids and soft_labels";
  if (!a->source || !a->lam || !a->apply) return "source, lam and apply must not be NULL";
  // Shape and count first: the sample array is sized and indexed from them.
  const std::string shape_error = dsm::CheckImageShape(a->height, a->width, a->channels);
  if (!shape_error.empty()) return "images: " + shape_error;
  if (a->num_samples < 1)
    return "expected at least 1 sample, got " + std::to_string(a->num_samples);
  dsm::MixRule &rule = config.rule;
  std::string error = dsm::CheckMixOptions(a->num_classes, a->label_smoothing);
  if (error.empty()) error = dsm::CheckMixModeCode(a->mode, rule.mode);
  if (error.empty()) error = dsm::CheckPlacementCode(a->placement, config.target_background);
  if (error.empty()) error = dsm::CheckLabelWeightsCode(a->label_weights, config.saliency_weights);
  if (!error.empty()) return error;
  if (!a->images || !a->out_images || !a->out_labels)
    return "images and outputs must not be NULL";
  config.num_samples = a->num_samples;
  rule.height = a->height;
  rule.width = a->width;
  config.channels = a->channels;
  config.num_classes = a->num_classes;
  config.label_smoothing = a->label_smoothing;
  rule.correct_lam = a->correct_lam != 0;
  rule.random_box = a->random_box != 0;
  rule.has_minmax = a->has_minmax != 0;
  rule.minmax[0] = a->minmax[0];
  rule.minmax[1] = a->minmax[1];
  if (config.UsesBoxDraws() && !a->box_draw) return dsm::MissingBoxDraws();
  return {};
}

/// The samples of a dsm_mix_args whose config ReadMixConfig accepted: pointers, labels, draws.
std::vector<dsm::MixSample> ReadMixSamples(const dsm_mix_args *a) {
  const int n = a->num_samples;
  const size_t image_bytes = static_cast<size_t>(a->height) * a->width * a->channels;
  const size_t classes = static_cast<size_t>(a->num_classes);
  std::vector<dsm::MixSample> samples(n);
  for (int i = 0; i < n; ++i) {
    dsm::MixSample &s = samples[i];
    const size_t at = static_cast<size_t>(i);
    s.image = a->images + at * image_bytes;
    s.out_image = a->out_images + at * image_bytes;
    if (a->soft_labels)
      s.soft_label = a->soft_labels + at * classes;
    else
      s.label_id = a->label_ids[i];
    s.out_label = a->out_labels + at * classes;
    s.out_box = a->out_boxes ? a->out_boxes + 4 * at : nullptr;
    s.out_lam = a->out_lam ? a->out_lam + i : nullptr;
    s.out_dest_box = a->out_dest_boxes ? a->out_dest_boxes + 4 * at : nullptr;
    s.draw.source = a->source[i];
    s.draw.lam = a->lam[i];
    s.draw.apply = a->apply[i] ? 1 : 0;
    s.draw.cutmix = a->cutmix ? a->cutmix[i] : 1;
    if (a->box_draw)
      for (int k = 0; k < 4; ++k) s.draw.box_draw[k] = a->box_draw[4 * at + k];
  }
  return samples;
}

/// Reads and checks a whole dsm_mix_args (ReadMixConfig, ReadMixSamples, CheckMixArguments);
/// returns the error message, or an empty string.
std::string ReadMixArgs(const dsm_mix_args *a, bool device, dsm::MixConfig &config,
                        std::vector<dsm::MixSample> &samples) {
  const std::string error = ReadMixConfig(a, device, config);
  if (!error.empty()) return error;
  samples = ReadMixSamples(a);
  return dsm::CheckMixArguments(config, samples.data(), !device);
}

#if DSM_WITH_CUDA
/// The kernels' samples of a dsm_saliency_cuda call, each shape checked; returns the error
/// message, or an empty string.
std::string ReadSaliencySamples(const dsm_sample *samples, int32_t num_samples,
                                std::vector<dsm::SaliencySample> &batch) {
  if (num_samples < 0 || (num_samples > 0 && !samples))
    return "expected num_samples >= 0 and a sample array";
  batch.resize(num_samples);
  for (int i = 0; i < num_samples; ++i) {
    const dsm_sample &s = samples[i];
    const std::string shape_error = dsm::CheckImageShape(s.height, s.width, s.channels);
    if (!shape_error.empty()) return "sample " + std::to_string(i) + ": " + shape_error;
    if (!s.image || !s.map)
      return "sample " + std::to_string(i) + ": image and map must not be NULL";
    batch[i] = {s.image, s.map, s.peak, s.height, s.width, s.channels};
  }
  return {};
}
#endif

}  // namespace

extern "C" {

// These three cannot throw: a literal, a constant, and a pointer into thread-local storage.
const char *dsm_version(void) { return DSM_VERSION; }

int32_t dsm_cuda_toolkit_version(void) {
#if DSM_WITH_CUDA
  return CUDART_VERSION;
#else
  return 0;
#endif
}

const char *dsm_last_error(void) {
  return last_error_fixed ? last_error_fixed : last_error.c_str();
}

int32_t dsm_saliency_cpu(const uint8_t *image, int32_t height, int32_t width, int32_t channels,
                         void *map, int32_t float_output, int64_t *peak_index) {
  constexpr const char *where = "dsm_saliency_cpu";
  return Guarded(where, [&]() -> int32_t {
    const std::string shape_error = dsm::CheckImageShape(height, width, channels);
    if (!shape_error.empty()) return Fail(where, "image: " + shape_error);
    if (!image || !map) return Fail(where, "image and map must not be NULL");
    dsm::SaliencyOutput out;
    if (float_output)
      out.f32 = static_cast<float *>(map);
    else
      out.u8 = static_cast<uint8_t *>(map);
    const int64_t peak = dsm::SaliencyMapCpu(image, height, width, channels, out);
    if (peak_index) *peak_index = peak;
    return 0;
  });
}

int32_t dsm_mix_cpu(const dsm_mix_args *args) {
  constexpr const char *where = "dsm_mix_cpu";
  return Guarded(where, [&]() -> int32_t {
    dsm::MixConfig config;
    std::vector<dsm::MixSample> samples;
    const std::string error = ReadMixArgs(args, false, config, samples);
    if (!error.empty()) return Fail(where, error);
    dsm::MixCpu(dsm::PlanMix(config, samples.data()), samples.data(), dsm::SerialFor);
    return 0;
  });
}

int32_t dsm_mix_cuda(const dsm_mix_args *args, void *stream) {
  constexpr const char *where = "dsm_mix_cuda";
#if DSM_WITH_CUDA
  return Guarded(where, [&]() -> int32_t {
    dsm::MixConfig config;
    std::vector<dsm::MixSample> samples;
    const std::string error = ReadMixArgs(args, true, config, samples);
    if (!error.empty()) return Fail(where, error);
    const dsm::MixPlanCuda plan = dsm::PlanMixCuda(config, samples.data());
    return RunWithScratch(where, args->images, stream, plan.scratch_bytes, plan.staging_bytes,
                          [&](void *scratch, void *staging, cudaStream_t s) {
                            return dsm::MixCuda(plan, samples.data(), scratch,
                                                plan.scratch_bytes, staging, plan.staging_bytes,
                                                s);
                          });
  });
#else
  (void)args, (void)stream;
  return NoCuda(where);
#endif
}

int32_t dsm_saliency_cuda(const dsm_sample *samples, int32_t num_samples, int32_t float_output,
                          void *stream) {
  constexpr const char *where = "dsm_saliency_cuda";
#if DSM_WITH_CUDA
  return Guarded(where, [&]() -> int32_t {
    std::vector<dsm::SaliencySample> batch;
    const std::string error = ReadSaliencySamples(samples, num_samples, batch);
    if (!error.empty()) return Fail(where, error);
    if (num_samples == 0) return 0;
    const size_t bytes = dsm::SaliencyCudaScratchBytes(batch.data(), num_samples);
    return RunWithScratch(where, batch[0].image, stream, bytes,
                          dsm::SaliencyCudaStagingBytes(num_samples),
                          [&](void *scratch, void *staging, cudaStream_t s) {
                            return dsm::SaliencyCuda(batch.data(), num_samples, float_output != 0,
                                                     scratch, bytes, staging, s);
                          });
  });
#else
  (void)samples, (void)num_samples, (void)float_output, (void)stream;
  return NoCuda(where);
#endif
}

}  // extern "C"
