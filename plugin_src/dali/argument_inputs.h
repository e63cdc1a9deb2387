// The operators' per-sample arguments, as DALI gives them: argument inputs (one tensor a sample,
// of any accepted type) or constants, read into wide values (int64, double) for the shared
// checks; failures name the operator, the argument and the sample.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dali/pipeline/operator/operator.h"

namespace dali {

/// The type as NumPy names it (DALI says "float" and "double").
std::string NumpyTypeName(DALIDataType type);

/// The value of a one-element integer (or, with allow_bool, bool) sample, widened to int64;
/// false if the type is not one of those.
bool IntegerValue(DALIDataType type, const void *p, bool allow_bool, int64_t &v);

/// The value of a one-element float16/float32/float64 sample; false for other types.
bool FloatValue(DALIDataType type, const void *p, double &v);

/// A shape as NumPy writes it: (), (3,), (2, 2).
std::string ShapeText(const TensorShape<> &shape);

/// Reads the per-sample arguments of one operator's batch of `num_samples` samples.
class ArgumentInputs {
 public:
  ArgumentInputs(const char *op_name, const OpSpec &spec, const Workspace &ws, int num_samples)
      : op_name_(op_name), spec_(spec), ws_(ws), n_(num_samples) {}

  /// One integer per sample of an integer argument (`source`, `apply`, `cutmix`): an argument
  /// input of any integer type (or bool, when allow_bool), or a constant. `expected` says which
  /// types, in the failure's message.
  std::vector<int64_t> Integers(const char *name, bool allow_bool, const char *expected) const;

  /// `count` values per sample of a float argument (`lam`, `box_draw`): a float16/32/64
  /// argument input, or a constant (the same for every sample).
  std::vector<double> Floats(const char *name, const char *expected, int64_t count = 1) const;

 private:
  /// The tensor argument input `name`, checked to hold `count` values for each sample.
  const TensorList<CPUBackend> &Batch(const char *name, int64_t count) const;

  const char *op_name_;
  const OpSpec &spec_;
  const Workspace &ws_;
  int n_;
};

}  // namespace dali
