// The operators' per-sample arguments (see argument_inputs.h).
#include "argument_inputs.h"

#include "dali/core/float16.h"

namespace dali {

std::string NumpyTypeName(DALIDataType type) {
  if (type == DALI_FLOAT) return "float32";
  if (type == DALI_FLOAT64) return "float64";
  return to_string(type);
}

bool IntegerValue(DALIDataType type, const void *p, bool allow_bool, int64_t &v) {
  switch (type) {
    case DALI_INT8: v = *static_cast<const int8_t *>(p); return true;
    case DALI_INT16: v = *static_cast<const int16_t *>(p); return true;
    case DALI_INT32: v = *static_cast<const int32_t *>(p); return true;
    case DALI_INT64: v = *static_cast<const int64_t *>(p); return true;
    case DALI_UINT8: v = *static_cast<const uint8_t *>(p); return true;
    case DALI_UINT16: v = *static_cast<const uint16_t *>(p); return true;
    case DALI_UINT32: v = *static_cast<const uint32_t *>(p); return true;
    case DALI_UINT64: {
      const uint64_t u = *static_cast<const uint64_t *>(p);
      v = u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(u);
      return true;
    }
    case DALI_BOOL:
      if (!allow_bool) return false;
      v = *static_cast<const bool *>(p) ? 1 : 0;
      return true;
    default: return false;
  }
}

bool FloatValue(DALIDataType type, const void *p, double &v) {
  switch (type) {
    case DALI_FLOAT16: v = static_cast<float>(*static_cast<const float16 *>(p)); return true;
    case DALI_FLOAT: v = *static_cast<const float *>(p); return true;
    case DALI_FLOAT64: v = *static_cast<const double *>(p); return true;
    default: return false;
  }
}

std::string ShapeText(const TensorShape<> &shape) {
  std::string text = "(";
  for (int d = 0; d < shape.size(); ++d)
    text += (d ? ", " : "") + std::to_string(shape[d]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

const TensorList<CPUBackend> &ArgumentInputs::Batch(const char *name, int64_t count) const {
  const TensorList<CPUBackend> &in = ws_.ArgumentInput(name);
  DALI_ENFORCE(in.num_samples() == n_,
               make_string(op_name_, ": argument `", name, "` has ", in.num_samples(),
                           " samples, expected one per image (", n_, ")."));
  for (int i = 0; i < n_; ++i)
    if (volume(in.tensor_shape(i)) != count)
      DALI_FAIL(make_string(op_name_, ": argument `", name, "`, sample ", i, ": expected ",
                            count == 1 ? std::string("one value (a scalar or shape (1,))")
                                       : make_string(count, " values (shape (", count, ",))"),
                            ", got shape ", ShapeText(in.tensor_shape(i)), "."));
  return in;
}

std::vector<int64_t> ArgumentInputs::Integers(const char *name, bool allow_bool,
                                              const char *expected) const {
  if (!spec_.HasTensorArgument(name))
    return std::vector<int64_t>(n_, spec_.GetArgument<int>(name));
  const TensorList<CPUBackend> &in = Batch(name, 1);
  std::vector<int64_t> values(n_);
  for (int i = 0; i < n_; ++i)
    if (!IntegerValue(in.type(), in.raw_tensor(i), allow_bool, values[i]))
      DALI_FAIL(make_string(op_name_, ": argument `", name, "` must be ", expected, ", got ",
                            NumpyTypeName(in.type()), "."));
  return values;
}

std::vector<double> ArgumentInputs::Floats(const char *name, const char *expected,
                                           int64_t count) const {
  std::vector<double> values(static_cast<size_t>(n_) * count);
  if (!spec_.HasTensorArgument(name)) {
    std::vector<float> constant;
    if (count == 1)
      constant.push_back(spec_.GetArgument<float>(name));
    else
      constant = spec_.GetRepeatedArgument<float>(name);
    DALI_ENFORCE(static_cast<int64_t>(constant.size()) == count,
                 make_string(op_name_, ": argument `", name, "`: expected ", count,
                             " values, got ", constant.size(), "."));
    for (size_t k = 0; k < values.size(); ++k) values[k] = constant[k % count];
    return values;
  }
  const TensorList<CPUBackend> &in = Batch(name, count);
  const size_t size = TypeTable::GetTypeInfo(in.type()).size();
  for (int i = 0; i < n_; ++i)
    for (int64_t k = 0; k < count; ++k) {
      const void *p = static_cast<const uint8_t *>(in.raw_tensor(i)) + k * size;
      if (!FloatValue(in.type(), p, values[static_cast<size_t>(i) * count + k]))
        DALI_FAIL(make_string(op_name_, ": argument `", name, "` must be ", expected, ", got ",
                              NumpyTypeName(in.type()), "."));
    }
  return values;
}

}  // namespace dali
