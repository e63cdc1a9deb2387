// Schema, argument checks and the CPU operator of `fn.fine_grained_saliency`.
#include "fine_grained_saliency.h"

#include <string>

#include "../checks/image_checks.h"
#include "../saliency/fine_grained_saliency_cpu.h"
#include "../saliency/fine_grained_saliency_math.h"

namespace dali {


DALI_SCHEMA(FineGrainedSaliency)
    .DocStr(R"code(OpenCV's fine-grained static saliency map (``StaticSaliencyFineGrained``,
Montabone & Soto 2010), computed bit for bit as OpenCV computes it on the BGR copy of each image.

Input: uint8 images, ``HWC`` RGB (C=3) or one-channel (``HW`` or ``HWC`` with C=1); each sample
may have its own size. Output: the saliency map, ``HW``, uint8 (OpenCV's float map times 255) or,
with ``dtype=types.FLOAT``, OpenCV's float32 values k/255. With ``output_peak=True`` a second
output gives the (y, x) position of the first maximum of the map in row-major order (int32, shape
(2,)), which is where SaliencyMix centres its patch.)code")
    .NumInput(1)
    .NumOutput(1)
    .InputDox(0, "images", "TensorList of uint8",
              "Images in HWC layout with 3 (RGB) or 1 channels, or HW gray images.")
    .InputLayout(0, {"HWC", "HW"})
    .AdditionalOutputsFn([](const OpSpec &spec) {
      return spec.GetArgument<bool>("output_peak") ? 1 : 0;
    })
    .AddOptionalTypeArg("dtype",
                        "Output type: ``types.UINT8`` (the map times 255, default) or "
                        "``types.FLOAT`` (OpenCV's float32 map, k/255).",
                        DALI_UINT8)
    .AddOptionalArg("output_peak",
                    "Also return the (y, x) position of the first maximum of each map as an "
                    "int32 tensor of shape (2,).",
                    false);

namespace {
constexpr const char *kOpName = "fn.fine_grained_saliency";
}

SaliencyArgs::SaliencyArgs(const OpSpec &spec)
    : dtype_(spec.GetArgument<DALIDataType>("dtype")),
      output_peak_(spec.GetArgument<bool>("output_peak")) {
  DALI_ENFORCE(dtype_ == DALI_UINT8 || dtype_ == DALI_FLOAT,
               make_string(kOpName, ": argument `dtype` must be types.UINT8 or "
                                 "types.FLOAT, got ", dtype_, "."));
}

void SaliencyArgs::SampleDims(const TensorShape<> &s, int &h, int &w, int &c) {
  h = static_cast<int>(s[0]);
  w = static_cast<int>(s[1]);
  c = s.size() == 3 ? static_cast<int>(s[2]) : 1;
}

void SaliencyArgs::Setup(std::vector<OutputDesc> &output_desc,
                         const TensorListShape<> &shape, DALIDataType type,
                         const TensorLayout &layout) const {
  DALI_ENFORCE(type == DALI_UINT8,
               make_string(kOpName, ": input 0 (images) must be uint8 (decoded images), "
                                 "got ", type, ". Apply it before any normalisation or cast."));
  const int ndim = shape.sample_dim();
  DALI_ENFORCE(ndim == 2 || ndim == 3,
               make_string(kOpName, ": input 0 (images) must have layout HWC or HW, got ",
                                 ndim, " dimensions", layout.empty() ? "" : " (layout ",
                                 layout.empty() ? "" : layout.c_str(),
                                 layout.empty() ? "" : ")", "."));
  const int n = shape.num_samples();
  TensorListShape<> map_shape(n, 2);
  for (int i = 0; i < n; ++i) {
    const auto s = shape.tensor_shape_span(i);  // a view: no shape is copied
    const int64_t c = ndim == 3 ? s[2] : 1;
    const std::string shape_error = dsm::CheckImageShape(s[0], s[1], c);
    if (!shape_error.empty())
      DALI_FAIL(make_string(kOpName, ": input 0 (images), sample ", i, " (layout ",
                            layout.empty() ? "HWC" : layout.c_str(), "): ", shape_error, "."));
    map_shape.set_tensor_shape(i, TensorShape<>(s[0], s[1]));
  }
  output_desc.resize(output_peak_ ? 2 : 1);
  output_desc[0] = {map_shape, dtype_};
  if (output_peak_)
    output_desc[1] = {uniform_list_shape(n, TensorShape<>(2)), DALI_INT32};
}

template <>
FineGrainedSaliency<CPUBackend>::FineGrainedSaliency(const OpSpec &spec)
    : StatelessOperator<CPUBackend>(spec), args_(spec) {}

template <>
void FineGrainedSaliency<CPUBackend>::RunImpl(Workspace &ws) {
  const auto &in = ws.Input<CPUBackend>(0);
  auto &map = ws.Output<CPUBackend>(0);
  map.SetLayout("HW");
  auto &pool = ws.GetThreadPool();
  const int n = in.num_samples();
  for (int i = 0; i < n; ++i) {
    int h, w, c;
    SaliencyArgs::SampleDims(in.tensor_shape(i), h, w, c);
    pool.AddWork(
        [&, i, h, w, c](int) {
          dsm::SaliencyOutput out;
          if (args_.float_output())
            out.f32 = map.mutable_tensor<float>(i);
          else
            out.u8 = map.mutable_tensor<uint8_t>(i);
          const int64_t peak = dsm::SaliencyMapCpu(in.tensor<uint8_t>(i), h, w, c, out);
          if (args_.output_peak())
            dsm::PeakPosition(peak, w, ws.Output<CPUBackend>(1).mutable_tensor<int32_t>(i));
        },
        static_cast<int64_t>(h) * w);
  }
  pool.RunAll();
}

DALI_REGISTER_OPERATOR(FineGrainedSaliency, FineGrainedSaliency<CPUBackend>, CPU);

}  // namespace dali
