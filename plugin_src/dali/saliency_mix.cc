// Schema, argument checks and the CPU operator of `fn.saliency_mix`.
#include "saliency_mix.h"

#include <string>

#include "../kernels/image_checks.h"
#include "../kernels/mix_checks.h"

namespace dali {

DALI_SCHEMA(SaliencyMix)
    .DocStr(R"code(SaliencyMix (Uddin et al., ICLR 2021): CutMix whose patch is centred on the
most salient pixel of the source image (OpenCV's fine-grained static saliency, computed bit for bit
as OpenCV does). Sample ``i`` (the target) receives, at the same place, a box cut from sample
``source[i]``; its label becomes ``lam * y_target + (1 - lam) * y_source``.

The random draws come in as argument inputs (``source`` from ``fn.batch_permutation``, ``lam``
from ``fn.random.beta``, ``apply`` from ``fn.random.coin_flip``), so the operator itself is a
deterministic function of its inputs; ``dali_saliencymix.saliency_mix`` wires them up.

With ``mode="elem"`` each pair uses its own ``lam``, coin flip and a box centred on its own
source's saliency peak (the paper). With ``mode="batch"`` sample 0's ``lam`` and coin flip and one
box, centred on the saliency peak of ``source[0]``, are used for every pair (the official code,
but with the saliency of the real uint8 pixels).

Place it after cropping/resizing (all images of the batch must have one size) and before
normalisation.)code")
    .NumInput(2)
    .NumOutput(2)
    .InputDox(0, "images", "TensorList of uint8",
              "Images, HWC (C=3 RGB or C=1) or HW, all of the same size.")
    .InputDox(1, "labels", "TensorList (host)",
              "Integer class ids (scalar or shape (1,), as fn.readers.file gives) or float "
              "one-hot/soft vectors of length num_classes.")
    .InputLayout(0, {"HWC", "HW"})
    .InputDevice(1, dali::InputDevice::CPU)
    .AdditionalOutputsFn([](const OpSpec &spec) {
      return spec.GetArgument<bool>("output_mix_info") ? 3 : 0;
    })
    .AddArg("num_classes", "Number of classes: the length of the output soft labels.",
            DALI_INT32)
    .AddArg("source", "Per sample: index of the sample whose patch is pasted (a permutation of "
            "the batch, e.g. fn.batch_permutation()).", DALI_INT32, true)
    .AddArg("lam", "Per sample: the sampled weight of the target, in [0, 1] (e.g. "
            "fn.random.beta(alpha=a, beta=a)).", DALI_FLOAT, true)
    .AddArg("apply", "Per sample: whether to mix (e.g. fn.random.coin_flip(probability=p)).",
            DALI_INT32, true)
    .AddOptionalArg("mode", "``\"elem\"`` (per sample) or ``\"batch\"`` (one box for the batch).",
                    "elem")
    .AddOptionalArg("label_smoothing", "timm's label smoothing epsilon, in [0, 1).", 0.0f)
    .AddOptionalArg("correct_lam", "Use lam = 1 - box area / image area after clipping the box "
                    "to the image (else the sampled lam).", true)
    .AddOptionalArg("output_mix_info", "Also return, per sample, the box (int32 [y1, x1, y2, x2]), "
                    "the target weight lam (float32 scalar) and the source index (int32 scalar).",
                    false);

namespace {
constexpr const char *kOpName = "fn.saliency_mix";

/// Class id of a scalar (or shape (1,)) integer label sample, or false if the type is not integer.
bool ReadClassId(const TensorList<CPUBackend> &labels, int i, int64_t &id) {
  const void *p = labels.raw_tensor(i);
  switch (labels.type()) {
    case DALI_INT32: id = *static_cast<const int32_t *>(p); return true;
    case DALI_INT64: id = *static_cast<const int64_t *>(p); return true;
    case DALI_INT16: id = *static_cast<const int16_t *>(p); return true;
    case DALI_INT8: id = *static_cast<const int8_t *>(p); return true;
    case DALI_UINT8: id = *static_cast<const uint8_t *>(p); return true;
    case DALI_UINT16: id = *static_cast<const uint16_t *>(p); return true;
    case DALI_UINT32: id = *static_cast<const uint32_t *>(p); return true;
    case DALI_UINT64: id = static_cast<int64_t>(*static_cast<const uint64_t *>(p)); return true;
    default: return false;
  }
}
}  // namespace

SaliencyMixArgs::SaliencyMixArgs(const OpSpec &spec)
    : num_classes_(spec.GetArgument<int>("num_classes")),
      label_smoothing_(spec.GetArgument<float>("label_smoothing")),
      correct_lam_(spec.GetArgument<bool>("correct_lam")),
      output_info_(spec.GetArgument<bool>("output_mix_info")),
      source_("source", spec),
      lam_("lam", spec),
      apply_("apply", spec) {
  const std::string mode = spec.GetArgument<std::string>("mode");
  DALI_ENFORCE(mode == "elem" || mode == "batch",
               make_string(kOpName, ": argument `mode` must be \"elem\" or \"batch\", got \"",
                           mode, "\"."));
  batch_mode_ = mode == "batch";
  DALI_ENFORCE(num_classes_ >= 1, make_string(kOpName, ": argument `num_classes` must be at "
                                              "least 1, got ", num_classes_, "."));
  DALI_ENFORCE(label_smoothing_ >= 0.0f && label_smoothing_ < 1.0f,
               make_string(kOpName, ": argument `label_smoothing` must be in [0, 1), got ",
                           label_smoothing_, "."));
}

void SaliencyMixArgs::Setup(std::vector<OutputDesc> &output_desc,
                            const TensorListShape<> &image_shape, DALIDataType image_type,
                            const TensorLayout &, const TensorList<CPUBackend> &labels,
                            const OpSpec &spec, const Workspace &ws, SaliencyMixBatch &batch) {
  DALI_ENFORCE(image_type == DALI_UINT8,
               make_string(kOpName, ": input 0 (images) must be uint8 (decoded images), got ",
                           image_type, ". Apply it after cropping and before normalisation."));
  const int n = image_shape.num_samples();
  const int ndim = image_shape.sample_dim();
  DALI_ENFORCE(ndim == 2 || ndim == 3,
               make_string(kOpName, ": input 0 (images) must be HWC or HW, got ", ndim,
                           " dimensions."));
  const auto first = image_shape.tensor_shape(0);
  for (int i = 1; i < n; ++i) {
    if (image_shape.tensor_shape(i) != first)
      DALI_FAIL(make_string(kOpName, ": input 0 (images): all images of a batch must have one "
                            "size, but sample 0 is ", first, " and sample ", i, " is ",
                            image_shape.tensor_shape(i), ". Crop or resize them to one size "
                            "first (e.g. fn.random_resized_crop(size=224) or fn.resize)."));
  }
  batch.num_samples = n;
  batch.height = static_cast<int>(first[0]);
  batch.width = static_cast<int>(first[1]);
  batch.channels = ndim == 3 ? static_cast<int>(first[2]) : 1;

  DALI_ENFORCE(labels.num_samples() == n,
               make_string(kOpName, ": input 1 (labels) has ", labels.num_samples(),
                           " samples, expected ", n, "."));
  batch.label_ids.clear();
  batch.soft_labels.clear();
  if (labels.type() == DALI_FLOAT) {
    for (int i = 0; i < n; ++i) {
      const int64_t len = volume(labels.tensor_shape(i));
      if (len != num_classes_)
        DALI_FAIL(make_string(kOpName, ": input 1 (labels), sample ", i, ": float labels must be "
                              "soft vectors of num_classes = ", num_classes_, " values, got shape ",
                              labels.tensor_shape(i), "."));
      batch.soft_labels.push_back(labels.tensor<float>(i));
    }
  } else {
    batch.label_ids.resize(n);
    for (int i = 0; i < n; ++i) {
      int64_t id = 0;
      if (volume(labels.tensor_shape(i)) != 1 || !ReadClassId(labels, i, id))
        DALI_FAIL(make_string(kOpName, ": input 1 (labels), sample ", i, ": expected an integer "
                              "class id (scalar or shape (1,)) or a float32 soft vector of "
                              "length num_classes, got ", labels.type(), " of shape ",
                              labels.tensor_shape(i), "."));
      if (id < 0 || id >= num_classes_)
        DALI_FAIL(make_string(kOpName, ": input 1 (labels), sample ", i, " has class ", id,
                              ", expected 0 <= label < num_classes = ", num_classes_, "."));
      batch.label_ids[i] = static_cast<int32_t>(id);
    }
  }

  source_.Acquire(spec, ws, n);
  lam_.Acquire(spec, ws, n);
  apply_.Acquire(spec, ws, n);
  std::vector<int32_t> source(n);
  std::vector<float> lam(n);
  std::vector<uint8_t> apply(n);
  for (int i = 0; i < n; ++i) {
    source[i] = source_[i].data[0];
    lam[i] = lam_[i].data[0];
    apply[i] = apply_[i].data[0] != 0;
  }
  const std::string error = dsm::CheckMixArguments(
      n, batch.height, batch.width, batch.channels,
      batch.label_ids.empty() ? nullptr : batch.label_ids.data(), num_classes_,
      label_smoothing_, source.data(), lam.data(), apply.data(), batch.draws);
  if (!error.empty())
    DALI_FAIL(make_string(kOpName, ": ", error,
                          error.rfind("images", 0) == 0 ? " (input 0)." : "."));

  output_desc.resize(output_info_ ? 5 : 2);
  output_desc[0] = {image_shape, DALI_UINT8};
  output_desc[1] = {uniform_list_shape(n, TensorShape<>(num_classes_)), DALI_FLOAT};
  if (output_info_) {
    output_desc[2] = {uniform_list_shape(n, TensorShape<>(4)), DALI_INT32};
    output_desc[3] = {uniform_list_shape(n, TensorShape<>()), DALI_FLOAT};
    output_desc[4] = {uniform_list_shape(n, TensorShape<>()), DALI_INT32};
  }
}

template <>
SaliencyMix<CPUBackend>::SaliencyMix(const OpSpec &spec)
    : StatelessOperator<CPUBackend>(spec), args_(spec) {}

template <>
void SaliencyMix<CPUBackend>::RunImpl(Workspace &ws) {
  const auto &images = ws.Input<CPUBackend>(0);
  auto &out_images = ws.Output<CPUBackend>(0);
  auto &out_labels = ws.Output<CPUBackend>(1);
  out_images.SetLayout(images.GetLayout());
  auto &pool = ws.GetThreadPool();
  const SaliencyMixBatch &b = batch_;
  const int n = b.num_samples, h = b.height, w = b.width, c = b.channels;
  const bool batch_mode = args_.batch_mode();

  // 1. Saliency peaks of the images that some applied pair centres its box on.
  std::vector<uint8_t> needed(n);
  std::vector<int32_t> peaks(2 * static_cast<size_t>(n), 0);
  dsm::ImagesNeedingPeaks(b.draws.data(), n, batch_mode, needed.data());
  for (int j = 0; j < n; ++j) {
    if (!needed[j]) continue;
    pool.AddWork([&, j](int) {
      dsm::SaliencyPeakCpu(images.tensor<uint8_t>(j), h, w, c, &peaks[2 * j]);
    }, static_cast<int64_t>(h) * w);
  }
  pool.RunAll();

  // 2. Box, paste and labels, per sample.
  for (int i = 0; i < n; ++i) {
    pool.AddWork([&, i](int) {
      const dsm::MixDraw draw = dsm::GoverningDraw(b.draws.data(), i, batch_mode);
      const int32_t *peak = &peaks[2 * dsm::PeakImage(b.draws.data(), i, batch_mode)];
      const dsm::MixDecision d =
          dsm::DecideMix(h, w, draw.lam, draw.apply, peak[0], peak[1], args_.correct_lam());
      const int j = draw.source;
      dsm::PasteCpu(images.tensor<uint8_t>(i), images.tensor<uint8_t>(j),
                    out_images.mutable_tensor<uint8_t>(i), h, w, c, d.box);
      float *label = out_labels.mutable_tensor<float>(i);
      if (b.soft())
        dsm::MixSoftLabelsCpu(b.soft_labels[i], b.soft_labels[j], args_.num_classes(),
                              args_.label_smoothing(), d.lam, label);
      else
        dsm::MixClassLabelsCpu(b.label_ids[i], b.label_ids[j], args_.num_classes(),
                               args_.label_smoothing(), d.lam, label);
      if (args_.output_info()) {
        int32_t *box = ws.Output<CPUBackend>(2).mutable_tensor<int32_t>(i);
        box[0] = d.box.y1;
        box[1] = d.box.x1;
        box[2] = d.box.y2;
        box[3] = d.box.x2;
        *ws.Output<CPUBackend>(3).mutable_tensor<float>(i) = d.lam;
        *ws.Output<CPUBackend>(4).mutable_tensor<int32_t>(i) = j;
      }
    }, static_cast<int64_t>(h) * w);
  }
  pool.RunAll();
}

DALI_REGISTER_OPERATOR(SaliencyMix, SaliencyMix<CPUBackend>, CPU);

}  // namespace dali
