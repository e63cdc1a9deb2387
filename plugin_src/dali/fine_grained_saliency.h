// DALI operator `fn.fine_grained_saliency`: a thin adapter over the saliency kernels.
#pragma once

#include <vector>

#include "dali/pipeline/operator/checkpointing/stateless_operator.h"
#include "dali/pipeline/operator/operator.h"

namespace dali {

/// Reads the `dtype` and `output_peak` arguments and checks the input batch; shared by the CPU
/// and GPU operators.
class SaliencyArgs {
 public:
  explicit SaliencyArgs(const OpSpec &spec);
  /// Validates the input batch (dtype, layout, shape) and describes the outputs.
  void Setup(std::vector<OutputDesc> &output_desc, const TensorListShape<> &shape,
             DALIDataType type, const TensorLayout &layout) const;
  bool float_output() const { return dtype_ == DALI_FLOAT; }
  bool output_peak() const { return output_peak_; }
  /// (height, width, channels) of an input sample; HW means one channel.
  static void SampleDims(const TensorShape<> &s, int &h, int &w, int &c);

 private:
  DALIDataType dtype_;
  bool output_peak_;
};

template <typename Backend>
class FineGrainedSaliency : public StatelessOperator<Backend> {
 public:
  explicit FineGrainedSaliency(const OpSpec &spec);

 protected:
  bool SetupImpl(std::vector<OutputDesc> &output_desc, const Workspace &ws) override {
    const auto &in = ws.Input<Backend>(0);
    args_.Setup(output_desc, in.shape(), in.type(), in.GetLayout());
    return true;
  }
  void RunImpl(Workspace &ws) override;

 private:
  SaliencyArgs args_;
};

}  // namespace dali
