// GPU operator of `fn.saliency_mix`: images on the GPU, labels read on the host, all outputs on
// the GPU; one stream-ordered launch sequence per batch, planned in SetupImpl.
#include <algorithm>
#include <string>
#include <vector>

#include "../checks/cuda_driver_check.h"
#include "../mix/mix_cuda.h"
#include "dali/core/cuda_error.h"
#include "dali/kernels/dynamic_scratchpad.h"
#include "saliency_mix.h"

namespace dali {

template <>
SaliencyMix<GPUBackend>::SaliencyMix(const OpSpec &spec)
    : StatelessOperator<GPUBackend>(spec), args_(spec) {
  const std::string driver_error = dsm::CheckCudaDriver();
  DALI_ENFORCE(driver_error.empty(),
               make_string("fn.saliency_mix (device='gpu'): ", driver_error));
}

template <>
void SaliencyMix<GPUBackend>::RunImpl(Workspace &ws) {
  const auto &images = ws.Input<GPUBackend>(0);
  auto &out_images = ws.Output<GPUBackend>(0);
  auto &out_labels = ws.Output<GPUBackend>(1);
  out_images.SetLayout(images.GetLayout());
  const int n = batch_.config.num_samples;
  if (n == 0) return;
  const size_t classes = static_cast<size_t>(batch_.config.num_classes);
  kernels::DynamicScratchpad scratchpad(AccessOrder(ws.stream()));

  // The samples as Setup read and checked them (soft labels in host memory), with the device
  // pointers added.
  std::vector<dsm::MixSample> samples = batch_.samples;
  if (batch_.soft) {  // one pinned copy of the soft labels to the device
    const size_t count = static_cast<size_t>(n) * classes;
    float *soft_host = scratchpad.AllocatePinned<float>(count);
    for (int i = 0; i < n; ++i)
      std::copy(samples[i].soft_label, samples[i].soft_label + classes,
                soft_host + static_cast<size_t>(i) * classes);
    float *soft_device = scratchpad.AllocateGPU<float>(count);
    CUDA_CALL(cudaMemcpyAsync(soft_device, soft_host, count * sizeof(float),
                              cudaMemcpyHostToDevice, ws.stream()));
    for (int i = 0; i < n; ++i)
      samples[i].soft_label = soft_device + static_cast<size_t>(i) * classes;
  }
  for (int i = 0; i < n; ++i) {
    dsm::MixSample &s = samples[i];
    s.image = images.tensor<uint8_t>(i);
    s.out_image = out_images.mutable_tensor<uint8_t>(i);
    s.out_label = out_labels.mutable_tensor<float>(i);
    if (args_.output_info()) {
      s.out_box = ws.Output<GPUBackend>(2).mutable_tensor<int32_t>(i);
      s.out_lam = ws.Output<GPUBackend>(3).mutable_tensor<float>(i);
      s.out_source = ws.Output<GPUBackend>(4).mutable_tensor<int32_t>(i);
      if (args_.num_outputs() == 6)
        s.out_dest_box = ws.Output<GPUBackend>(5).mutable_tensor<int32_t>(i);
    }
  }
  void *scratch = scratchpad.AllocateGPU<uint8_t>(plan_.scratch_bytes, 256);
  void *staging = scratchpad.AllocatePinned<uint8_t>(plan_.staging_bytes, 64);
  CUDA_CALL(dsm::MixCuda(plan_, samples.data(), scratch, plan_.scratch_bytes, staging,
                         plan_.staging_bytes, ws.stream()));
}

DALI_REGISTER_OPERATOR(SaliencyMix, SaliencyMix<GPUBackend>, GPU);

}  // namespace dali
