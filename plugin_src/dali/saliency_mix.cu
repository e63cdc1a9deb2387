// GPU operator of `fn.saliency_mix`: images on the GPU, labels read on the host, all outputs on
// the GPU; one stream-ordered launch sequence per batch, planned in SetupImpl.
#include <algorithm>
#include <vector>

#include "../mix/mix_cuda.h"
#include "dali/core/cuda_error.h"
#include "dali/kernels/dynamic_scratchpad.h"
#include "gpu_driver.h"
#include "saliency_mix.h"

namespace dali {

namespace {
/// One pinned copy of the samples' soft labels (host memory, as Setup read them) to the device;
/// the samples then point at the device copies.
void UploadSoftLabels(kernels::DynamicScratchpad &scratchpad, cudaStream_t stream,
                      size_t num_classes, std::vector<dsm::MixSample> &samples) {
  const size_t count = samples.size() * num_classes;
  float *soft_host = scratchpad.AllocatePinned<float>(count);
  for (size_t i = 0; i < samples.size(); ++i)
    std::copy(samples[i].soft_label, samples[i].soft_label + num_classes,
              soft_host + i * num_classes);
  float *soft_device = scratchpad.AllocateGPU<float>(count);
  CUDA_CALL(cudaMemcpyAsync(soft_device, soft_host, count * sizeof(float),
                            cudaMemcpyHostToDevice, stream));
  for (size_t i = 0; i < samples.size(); ++i)
    samples[i].soft_label = soft_device + i * num_classes;
}
}  // namespace

template <>
SaliencyMix<GPUBackend>::SaliencyMix(const OpSpec &spec)
    : StatelessOperator<GPUBackend>(spec), args_(spec) {
  EnforceCudaDriver("fn.saliency_mix");
}

template <>
void SaliencyMix<GPUBackend>::RunImpl(Workspace &ws) {
  // The samples as Setup read and checked them (soft labels in host memory), with the device
  // pointers added.
  std::vector<dsm::MixSample> samples = batch_.samples;
  SetSamplePointers<GPUBackend>(ws, args_, samples);
  if (samples.empty()) return;
  kernels::DynamicScratchpad scratchpad(AccessOrder(ws.stream()));
  if (batch_.soft)
    UploadSoftLabels(scratchpad, ws.stream(), static_cast<size_t>(batch_.config.num_classes),
                     samples);
  void *scratch = scratchpad.AllocateGPU<uint8_t>(plan_.scratch_bytes, 256);
  void *staging = scratchpad.AllocatePinned<uint8_t>(plan_.staging_bytes, 64);
  CUDA_CALL(dsm::MixCuda(plan_, samples.data(), scratch, plan_.scratch_bytes, staging,
                         plan_.staging_bytes, ws.stream()));
}

DALI_REGISTER_OPERATOR(SaliencyMix, SaliencyMix<GPUBackend>, GPU);

}  // namespace dali
