// DALI operator `fn.saliency_mix`: a thin adapter over the SaliencyMix kernels.
//
// Inputs: images (uint8, one size for the batch) and labels (class ids or soft vectors, on the
// host). The random draws (pair index, lam, coin flip) come in as argument inputs from DALI's own
// random operators, so the operator is a deterministic function of its inputs (stateless,
// checkpointable).
#pragma once

#include <string>
#include <vector>

#include "../kernels/saliency_mix_cpu.h"
#include "dali/pipeline/operator/arg_helper.h"
#include "dali/pipeline/operator/checkpointing/stateless_operator.h"
#include "dali/pipeline/operator/operator.h"

namespace dali {

/// The batch as the kernels see it, read and checked from the workspace (CPU and GPU alike).
struct SaliencyMixBatch {
  int num_samples = 0, height = 0, width = 0, channels = 0;
  std::vector<dsm::MixDraw> draws;
  std::vector<int32_t> label_ids;             // class ids, when the labels are integers
  std::vector<const float *> soft_labels;     // per-sample soft vectors, when they are floats
  bool soft() const { return !soft_labels.empty(); }
};

class SaliencyMixArgs {
 public:
  explicit SaliencyMixArgs(const OpSpec &spec);
  /// Reads and validates inputs and argument inputs; describes the outputs.
  void Setup(std::vector<OutputDesc> &output_desc, const TensorListShape<> &image_shape,
             DALIDataType image_type, const TensorLayout &layout,
             const TensorList<CPUBackend> &labels, const OpSpec &spec, const Workspace &ws,
             SaliencyMixBatch &batch);
  bool batch_mode() const { return batch_mode_; }
  bool correct_lam() const { return correct_lam_; }
  bool output_info() const { return output_info_; }
  int num_classes() const { return num_classes_; }
  float label_smoothing() const { return label_smoothing_; }

 private:
  int num_classes_;
  bool batch_mode_;
  float label_smoothing_;
  bool correct_lam_;
  bool output_info_;
  ArgValue<int32_t> source_;
  ArgValue<float> lam_;
  ArgValue<int32_t> apply_;
};

template <typename Backend>
class SaliencyMix : public StatelessOperator<Backend> {
 public:
  explicit SaliencyMix(const OpSpec &spec);

 protected:
  bool SetupImpl(std::vector<OutputDesc> &output_desc, const Workspace &ws) override {
    const auto &images = ws.Input<Backend>(0);
    args_.Setup(output_desc, images.shape(), images.type(), images.GetLayout(),
                ws.Input<CPUBackend>(1), this->spec_, ws, batch_);
    return true;
  }
  void RunImpl(Workspace &ws) override;

 private:
  SaliencyMixArgs args_;
  SaliencyMixBatch batch_;
};

}  // namespace dali
