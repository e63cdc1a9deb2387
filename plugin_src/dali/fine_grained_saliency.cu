// GPU operator of `fn.fine_grained_saliency`: one batched launch sequence on the pipeline stream.
#include <vector>

#include "../saliency/fine_grained_saliency_cuda.h"
#include "dali/core/cuda_error.h"
#include "dali/kernels/dynamic_scratchpad.h"
#include "fine_grained_saliency.h"
#include "gpu_driver.h"

namespace dali {

template <>
FineGrainedSaliency<GPUBackend>::FineGrainedSaliency(const OpSpec &spec)
    : StatelessOperator<GPUBackend>(spec), args_(spec) {
  EnforceCudaDriver("fn.fine_grained_saliency");
}

template <>
void FineGrainedSaliency<GPUBackend>::RunImpl(Workspace &ws) {
  const auto &in = ws.Input<GPUBackend>(0);
  auto &map = ws.Output<GPUBackend>(0);
  map.SetLayout("HW");
  const int n = in.num_samples();
  std::vector<dsm::SaliencySample> samples(n);
  for (int i = 0; i < n; ++i) {
    auto &s = samples[i];
    SaliencyArgs::SampleDims(in.tensor_shape(i), s.height, s.width, s.channels);
    s.image = in.tensor<uint8_t>(i);
    s.map = map.raw_mutable_tensor(i);
    s.peak = args_.output_peak() ? ws.Output<GPUBackend>(1).mutable_tensor<int32_t>(i) : nullptr;
  }
  kernels::DynamicScratchpad scratchpad(AccessOrder(ws.stream()));
  const size_t bytes = dsm::SaliencyCudaScratchBytes(samples.data(), n);
  void *scratch = scratchpad.AllocateGPU<uint8_t>(bytes, 256);
  void *staging = scratchpad.AllocatePinned<uint8_t>(dsm::SaliencyCudaStagingBytes(n), 64);
  CUDA_CALL(dsm::SaliencyCuda(samples.data(), n, args_.float_output(), scratch, bytes, staging,
                              ws.stream()));
}

DALI_REGISTER_OPERATOR(FineGrainedSaliency, FineGrainedSaliency<GPUBackend>, GPU);

}  // namespace dali
