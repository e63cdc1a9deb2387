// GPU operator of `fn.saliency_mix`: images on the GPU, labels read on the host, all outputs on
// the GPU; one stream-ordered launch sequence per batch.
#include <algorithm>
#include <string>
#include <vector>

#include "../kernels/cuda_driver_check.h"
#include "../kernels/saliency_mix_cuda.h"
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
  const SaliencyMixBatch &b = batch_;
  const int n = b.num_samples, classes = args_.num_classes();
  kernels::DynamicScratchpad scratchpad(AccessOrder(ws.stream()));

  // Soft labels come from the host: one pinned copy to the device.
  float *soft_device = nullptr;
  if (b.soft()) {
    const size_t count = static_cast<size_t>(n) * classes;
    float *soft_host = scratchpad.AllocatePinned<float>(count);
    for (int i = 0; i < n; ++i)
      std::copy(b.soft_labels[i], b.soft_labels[i] + classes, soft_host + i * classes);
    soft_device = scratchpad.AllocateGPU<float>(count);
    CUDA_CALL(cudaMemcpyAsync(soft_device, soft_host, count * sizeof(float),
                              cudaMemcpyHostToDevice, ws.stream()));
  }

  dsm::MixConfigCuda config;
  config.num_samples = n;
  config.height = b.height;
  config.width = b.width;
  config.channels = b.channels;
  config.num_classes = classes;
  config.label_smoothing = args_.label_smoothing();
  config.batch_mode = args_.batch_mode();
  config.correct_lam = args_.correct_lam();
  std::vector<dsm::MixSampleCuda> samples(n);
  for (int i = 0; i < n; ++i) {
    auto &s = samples[i];
    s.image = images.tensor<uint8_t>(i);
    s.out_image = out_images.mutable_tensor<uint8_t>(i);
    s.out_label = out_labels.mutable_tensor<float>(i);
    s.soft_label = soft_device ? soft_device + static_cast<size_t>(i) * classes : nullptr;
    s.label_id = b.soft() ? 0 : b.label_ids[i];
    s.source = b.draws[i].source;
    s.lam = b.draws[i].lam;
    s.apply = b.draws[i].apply ? 1 : 0;
    if (args_.output_info()) {
      s.out_box = ws.Output<GPUBackend>(2).mutable_tensor<int32_t>(i);
      s.out_lam = ws.Output<GPUBackend>(3).mutable_tensor<float>(i);
      s.out_source = ws.Output<GPUBackend>(4).mutable_tensor<int32_t>(i);
    }
  }
  const size_t scratch_bytes = dsm::SaliencyMixCudaScratchBytes(config, samples.data());
  const size_t staging_bytes = dsm::SaliencyMixCudaStagingBytes(config, samples.data());
  void *scratch = scratchpad.AllocateGPU<uint8_t>(scratch_bytes, 256);
  void *staging = scratchpad.AllocatePinned<uint8_t>(staging_bytes, 64);
  CUDA_CALL(dsm::SaliencyMixCuda(config, samples.data(), scratch, scratch_bytes, staging,
                                 staging_bytes, ws.stream()));
}

DALI_REGISTER_OPERATOR(SaliencyMix, SaliencyMix<GPUBackend>, GPU);

}  // namespace dali
