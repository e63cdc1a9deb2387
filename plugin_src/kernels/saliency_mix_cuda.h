// SaliencyMix on an NVIDIA GPU: saliency peaks, boxes, paste and soft labels for a batch,
// stream-ordered, identical to the CPU steps of saliency_mix_cpu.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace dsm {

/// One sample. Pointers are device pointers; the draws and the class id are host values.
struct MixSampleCuda {
  const uint8_t *image = nullptr;      ///< HWC uint8 (all samples one size)
  uint8_t *out_image = nullptr;        ///< mixed image, same size
  const float *soft_label = nullptr;   ///< [num_classes] soft vector, or null: use label_id
  float *out_label = nullptr;          ///< [num_classes] mixed soft label
  int32_t *out_box = nullptr;          ///< optional [4] y1, x1, y2, x2
  float *out_lam = nullptr;            ///< optional target weight
  int32_t *out_source = nullptr;       ///< optional source index
  int32_t label_id = 0;                ///< class id when soft_label is null
  int32_t source = 0;                  ///< the pair of this sample (index in the batch)
  float lam = 1.0f;                    ///< sampled target weight
  int32_t apply = 0;                   ///< coin flip
};

struct MixConfigCuda {
  int num_samples = 0, height = 0, width = 0, channels = 0, num_classes = 0;
  float label_smoothing = 0.0f;
  bool batch_mode = false, correct_lam = true;
};

/// Device scratch and host staging bytes for SaliencyMixCuda (they depend on the draws).
size_t SaliencyMixCudaScratchBytes(const MixConfigCuda &config, const MixSampleCuda *samples);
size_t SaliencyMixCudaStagingBytes(const MixConfigCuda &config, const MixSampleCuda *samples);

/// Mixes a batch on `stream`. Arguments must be valid (see CheckMixArguments); `staging` is host
/// memory (pinned for a fully asynchronous call) that must live until the stream reaches this
/// work, unless pageable. Returns the first CUDA error.
cudaError_t SaliencyMixCuda(const MixConfigCuda &config, const MixSampleCuda *samples,
                            void *scratch, size_t scratch_bytes, void *staging,
                            size_t staging_bytes, cudaStream_t stream);

}  // namespace dsm
