// The mixing family on an NVIDIA GPU (MixUp, CutMix with a random or saliency box): saliency
// peaks, decisions, paste or blend, and soft labels for a batch, stream-ordered, identical to the
// CPU path (mix_cpu.h): the same plan (PlanMix), the same governing-draw and peak-image rules
// (plan.h), the same arithmetic (box.h, placement.h, blend.h, labels.h), placement and weights
// by content included (integral images and the grid search on the device).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "plan.h"

namespace dsm {

/// Everything MixCuda decides on the host before it runs, made once per batch by PlanMixCuda:
/// the batch's plan, and the sizes (and the internal offsets) of its device scratch and host
/// staging buffers, which the caller allocates.
struct MixPlanCuda {
  MixPlan mix;
  size_t scratch_bytes = 0;  ///< device memory MixCuda needs
  size_t staging_bytes = 0;  ///< host memory MixCuda needs (pinned for async uploads)
  // Offsets inside the scratch (device) and staging (host) buffers. The int64 integral images
  // of the mix.map_images reuse the saliency kernels' scratch (`saliency`), after them in
  // stream order.
  size_t descs = 0, peaks = 0, maps = 0, saliency = 0;
  size_t staging_descs = 0, staging_saliency = 0;
};

/// Plans a batch (PlanMix, then the buffer sizes) from its config and its samples' draws: no
/// pointer is read, so the plan can be made before the images are. `samples` must be valid
/// (checks/mix_checks.h: CheckMixArguments).
MixPlanCuda PlanMixCuda(const MixConfig &config, const MixSample *samples);

/// Mixes a batch on `stream` as planned (`samples` as given to PlanMixCuda, with their image
/// and output pointers set). `scratch` is device memory of at least plan.scratch_bytes;
/// `staging` is host memory of at least plan.staging_bytes (pinned for a fully asynchronous
/// call) that must live until the stream reaches this work, unless pageable. Returns the first
/// CUDA error.
cudaError_t MixCuda(const MixPlanCuda &plan, const MixSample *samples, void *scratch,
                    size_t scratch_bytes, void *staging, size_t staging_bytes,
                    cudaStream_t stream);

}  // namespace dsm
