// DALI operator `fn.saliency_mix`: a thin adapter over the mixing family's kernels (MixUp,
// CutMix with a random or saliency-centred box, SaliencyMix).
//
// Inputs: images (uint8, one size for the batch) and labels (class ids or soft vectors, on the
// host). The random draws (partner index, lam, coin flip, MixUp/CutMix switch, box draws) come in
// as argument inputs from DALI's own random operators, so the operator is a deterministic
// function of its inputs (stateless, checkpointable). SetupImpl reads, checks and plans the
// batch (the kernels' plan API); RunImpl adds the pointers and runs the plan.
#pragma once

#include <string>
#include <vector>

#include "../mix/mix_cuda.h"
#include "../mix/plan.h"
#include "dali/pipeline/operator/checkpointing/stateless_operator.h"
#include "dali/pipeline/operator/operator.h"

namespace dali {

/// Outputs beyond images and labels: with output_mix_info the boxes, lams and sources, and with
/// placement "target_background" also the destination boxes (the schema and the operator).
inline int NumInfoOutputs(bool output_mix_info, bool target_background) {
  return output_mix_info ? (target_background ? 4 : 3) : 0;
}

/// The batch as the kernels see it, read and checked from the workspace (CPU and GPU alike):
/// the options and size, and per sample the label (host) and the draws. RunImpl adds the image
/// and output pointers.
struct SaliencyMixBatch {
  dsm::MixConfig config;
  std::vector<dsm::MixSample> samples;
  bool soft = false;  // the labels are float soft vectors (samples[i].soft_label, host memory)
};

/// The operator's arguments, and the reading and checking of a batch (saliency_mix_args.cc).
class SaliencyMixArgs {
 public:
  explicit SaliencyMixArgs(const OpSpec &spec);
  /// Reads and validates inputs and argument inputs; describes the outputs.
  void Setup(std::vector<OutputDesc> &output_desc, const TensorListShape<> &image_shape,
             DALIDataType image_type, const TensorList<CPUBackend> &labels, const OpSpec &spec,
             const Workspace &ws, SaliencyMixBatch &batch) const;
  bool output_info() const { return output_info_; }
  /// The number of outputs: images and labels, with output_mix_info boxes, lams and sources,
  /// and with placement "target_background" the destination boxes.
  int num_outputs() const { return 2 + NumInfoOutputs(output_info_, options_.target_background); }

 private:
  /// The images' type and layout: uint8, HWC or HW.
  static void CheckImageInput(DALIDataType image_type, int ndim);
  void DescribeOutputs(std::vector<OutputDesc> &output_desc,
                       const TensorListShape<> &image_shape) const;
  /// The size of the batch's images (one for all), checked.
  static void ReadImageSize(const TensorListShape<> &image_shape, dsm::MixConfig &config);
  /// Labels: float soft vectors of num_classes values, or one integer class id per sample.
  void ReadLabels(const TensorList<CPUBackend> &labels, SaliencyMixBatch &batch) const;
  /// The draws, as argument inputs of the accepted types (or constants), range-checked while
  /// still wide, then narrowed.
  static void ReadDraws(const OpSpec &spec, const Workspace &ws, SaliencyMixBatch &batch);

  /// The operator's arguments as a batch's config without the batch: no size, no samples.
  dsm::MixConfig options_;
  bool output_info_;
};

/// The plan of a batch on a backend (the kernels' plan API), made from the draws in SetupImpl.
template <typename Backend>
struct MixPlanner;
template <>
struct MixPlanner<CPUBackend> {
  using Plan = dsm::MixPlan;
  static Plan Make(const SaliencyMixBatch &b) { return dsm::PlanMix(b.config, b.samples.data()); }
};
template <>
struct MixPlanner<GPUBackend> {
  using Plan = dsm::MixPlanCuda;
  static Plan Make(const SaliencyMixBatch &b) {
    return dsm::PlanMixCuda(b.config, b.samples.data());
  }
};

/// Points each sample at its input image and at its outputs (image, label, and with
/// output_mix_info box, lam, source and, with placement "target_background", destination box),
/// and gives the output images the input's layout: the same on the CPU and the GPU.
template <typename Backend>
void SetSamplePointers(Workspace &ws, const SaliencyMixArgs &args,
                       std::vector<dsm::MixSample> &samples) {
  const auto &images = ws.Input<Backend>(0);
  auto &out_images = ws.Output<Backend>(0);
  auto &out_labels = ws.Output<Backend>(1);
  out_images.SetLayout(images.GetLayout());
  for (int i = 0; i < static_cast<int>(samples.size()); ++i) {
    dsm::MixSample &s = samples[i];
    s.image = images.template tensor<uint8_t>(i);
    s.out_image = out_images.template mutable_tensor<uint8_t>(i);
    s.out_label = out_labels.template mutable_tensor<float>(i);
    if (!args.output_info()) continue;
    s.out_box = ws.Output<Backend>(2).template mutable_tensor<int32_t>(i);
    s.out_lam = ws.Output<Backend>(3).template mutable_tensor<float>(i);
    s.out_source = ws.Output<Backend>(4).template mutable_tensor<int32_t>(i);
    if (args.num_outputs() == 6)
      s.out_dest_box = ws.Output<Backend>(5).template mutable_tensor<int32_t>(i);
  }
}

template <typename Backend>
class SaliencyMix : public StatelessOperator<Backend> {
 public:
  explicit SaliencyMix(const OpSpec &spec);

 protected:
  /// Reads and checks the batch, and plans it: RunImpl adds the pointers and runs the plan.
  bool SetupImpl(std::vector<OutputDesc> &output_desc, const Workspace &ws) override {
    const auto &images = ws.Input<Backend>(0);
    args_.Setup(output_desc, images.shape(), images.type(), ws.Input<CPUBackend>(1), this->spec_,
                ws, batch_);
    plan_ = MixPlanner<Backend>::Make(batch_);
    return true;
  }
  void RunImpl(Workspace &ws) override;

 private:
  SaliencyMixArgs args_;
  SaliencyMixBatch batch_;
  typename MixPlanner<Backend>::Plan plan_;
};

}  // namespace dali
