// Fine-grained static saliency on an NVIDIA GPU: a whole batch of images (each its own size) per
// call, stream-ordered, bit-identical to the CPU implementation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace dsm {

/// One image of a batch. All pointers are device pointers.
struct SaliencySample {
  const uint8_t *image = nullptr;  ///< HWC uint8, channels 1 or 3 (RGB), contiguous
  void *map = nullptr;             ///< H*W uint8 (k) or float32 (k/255), see `float_output`
  int32_t *peak = nullptr;         ///< optional [2] int32: (y, x) of the first maximum
  int height = 0;
  int width = 0;
  int channels = 0;
};

/// Device scratch bytes that SaliencyCuda needs for these samples.
size_t SaliencyCudaScratchBytes(const SaliencySample *samples, int num_samples);
/// Host staging bytes that SaliencyCuda needs (the per-sample descriptor table).
size_t SaliencyCudaStagingBytes(int num_samples);

/// Computes the saliency maps (and peaks) of a batch on `stream`.
///
/// `scratch` is device memory of at least SaliencyCudaScratchBytes; `staging` is host memory
/// (pinned for a fully asynchronous call, or pageable) of at least SaliencyCudaStagingBytes. Both
/// must stay valid until the work on `stream` completes (pageable staging may be freed on return).
/// Samples must be valid (see SaliencyMapCpu); returns the first CUDA error.
cudaError_t SaliencyCuda(const SaliencySample *samples, int num_samples, bool float_output,
                         void *scratch, size_t scratch_bytes, void *staging,
                         cudaStream_t stream);

}  // namespace dsm
