// Schema, argument checks and the CPU operator of `fn.saliency_mix`.
#include "saliency_mix.h"

#include <charconv>
#include <string>
#include <system_error>
#include <vector>

#include "../checks/mix_checks.h"
#include "../mix/mix_cpu.h"
#include "dali/core/float16.h"

namespace dali {

DALI_SCHEMA(SaliencyMix)
    .DocStr(R"code(The mixing family: timm's MixUp and CutMix (random box, optionally with
``cutmix_minmax``) and SaliencyMix (Uddin et al., ICLR 2021: CutMix whose box is centred on the
most salient pixel of the source image, OpenCV's fine-grained static saliency computed bit for bit
as OpenCV does). Sample ``i`` (the target) is mixed with sample ``source[i]`` (its source): CutMix
pastes a box of the source at the same place, MixUp blends the whole images (rounded to the
nearest uint8, ties to even, as timm's ``FastCollateMixup``); the label becomes
``lam * y_target + (1 - lam) * y_source`` after timm's label smoothing.

The random draws come in as argument inputs (``source`` from ``fn.batch_permutation``, ``lam``
from ``fn.random.beta``, ``apply`` from ``fn.random.coin_flip``, ``cutmix`` from a coin flip with
timm's switch probability, ``box_draw`` from ``fn.random.uniform``), so the operator itself is a
deterministic function of its inputs; ``dali_saliencymix.mix`` and
``dali_saliencymix.saliency_mix`` wire them up.

Whose draw governs sample ``i`` (``mode``): ``"elem"``, its own; ``"batch"``, sample 0's;
``"pair"``, that of the first of its pair, ``min(i, source[i])`` (``source`` must then pair the
samples both ways, ``source[source[i]] == i``, as the reverse pairing does). The partner is
always ``source[i]``. A saliency box is centred on the peak of ``source[i]`` (elem, pair) or of
``source[0]`` (batch, the official SaliencyMix code).

Content-aware options of CutMix (``placement``, ``label_weights``): the patch can go where it
covers the least of the target's saliency, and the weights can follow the saliency each image
keeps (docs/algorithm.md, "Content-aware placement and label weights").

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
      return NumInfoOutputs(spec.GetArgument<bool>("output_mix_info"),
                            spec.GetArgument<std::string>("placement") == "target_background");
    })
    .AddArg("num_classes", "Number of classes: the length of the output soft labels.",
            DALI_INT32)
    .AddOptionalArg<int>("source", "Per sample: index of the sample mixed into it (e.g. a "
                         "permutation of the batch from fn.batch_permutation()); any integer "
                         "type. With mode=\"pair\" it must pair the samples both ways "
                         "(source[source[i]] == i). Not given: the reverse pairing, "
                         "source[i] = N - 1 - i (timm's).", nullptr, true)
    .AddArg("lam", "Per sample: the sampled weight of the target, in [0, 1] (e.g. "
            "fn.random.beta(alpha=a, beta=a)); float32, float64 or float16.", DALI_FLOAT, true)
    .AddArg("apply", "Per sample: whether to mix (e.g. fn.random.coin_flip(probability=p)); any "
            "integer type or bool.", DALI_INT32, true)
    .AddOptionalArg("cutmix", "Per sample: 1 if this mixing event is CutMix, 0 if it is MixUp "
                    "(e.g. fn.random.coin_flip(probability=switch_prob)); any integer type or "
                    "bool. Default: CutMix for every sample.", 1, true)
    .AddOptionalArg<std::vector<float>>(
        "box_draw", "Per sample: 4 uniform draws in [0, 1] (shape (4,), e.g. "
        "fn.random.uniform(range=[0, 1], shape=[4])) that place a random box (the first two) "
        "and draw the sides of a cutmix_minmax box (the first two) and its place (the last "
        "two); float32, float64 or float16. Required with box=\"random\" or cutmix_minmax, "
        "otherwise not read.", nullptr, true)
    .AddOptionalArg("mode", "Whose draw governs each sample: ``\"elem\"`` (its own), "
                    "``\"batch\"`` (sample 0's: one decision for the batch) or ``\"pair\"`` "
                    "(the first of its pair's).", "elem")
    .AddOptionalArg("box", "Where the CutMix box goes: ``\"saliency\"`` (centred on the source's "
                    "saliency peak, SaliencyMix) or ``\"random\"`` (timm's rand_bbox, placed by "
                    "box_draw).", "saliency")
    .AddOptionalArg("cutmix_minmax", "timm's cutmix_minmax: (min, max) with 0 < min < max <= 1; "
                    "the CutMix box sides are drawn uniformly from [int(L * min), int(L * max)) "
                    "(L the image side) and lam is always corrected. Each value is read as the "
                    "shortest decimal that gives its float32 (0.7, not 0.699999988), in double, "
                    "as timm computes with the Python float. Empty (default): sides from lam.",
                    std::vector<float>{})
    .AddOptionalArg("placement", "Where a CutMix patch goes in the target: "
                    "``\"source_peak\"`` (default, the paper: where it was in the source) or "
                    "``\"target_background\"`` (the box taken from the source as usual, pasted at "
                    "the position of a grid of stride 8 pixels that covers the least of the "
                    "target's fine-grained saliency, the first in row-major order among equals; "
                    "the two boxes then differ, and with output_mix_info a sixth output gives the "
                    "destination). MixUp is unaffected. See docs/algorithm.md, \"Content-aware "
                    "placement and label weights\".", "source_peak")
    .AddOptionalArg("label_weights", "CutMix's target weight: ``\"area\"`` (default: 1 - box "
                    "area / image area with correct_lam, else the sampled lam) or "
                    "``\"saliency\"`` (the target's saliency mass left visible over that plus "
                    "the source's saliency mass pasted, exact integer masses of the uint8 maps; "
                    "the area weight when both are 0). MixUp keeps its sampled lam.", "area")
    .AddOptionalArg("label_smoothing", "timm's label smoothing epsilon, in [0, 1).", 0.0f)
    .AddOptionalArg("correct_lam", "For CutMix, use lam = 1 - box area / image area after "
                    "clipping the box to the image (else the sampled lam; always corrected with "
                    "cutmix_minmax).", true)
    .AddOptionalArg("output_mix_info", "Also return, per sample, the box (int32 [y1, x1, y2, x2], "
                    "zeros for MixUp and unmixed samples), the target weight lam (float32 "
                    "scalar) and the source index (int32 scalar); with "
                    "placement=\"target_background\" also the destination box in the target "
                    "(int32 [y1, x1, y2, x2], zeros when nothing is pasted). ``boxes`` is always "
                    "the box in the source.", false);

namespace {
constexpr const char *kOpName = "fn.saliency_mix";

/// The type as NumPy names it (DALI says "float" and "double").
std::string NumpyTypeName(DALIDataType type) {
  if (type == DALI_FLOAT) return "float32";
  if (type == DALI_FLOAT64) return "float64";
  return to_string(type);
}

/// The value of a one-element integer (or, with allow_bool, bool) sample, widened to int64;
/// false if the type is not one of those.
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

/// The value of a one-element float16/float32/float64 sample; false for other types.
bool FloatValue(DALIDataType type, const void *p, double &v) {
  switch (type) {
    case DALI_FLOAT16: v = static_cast<float>(*static_cast<const float16 *>(p)); return true;
    case DALI_FLOAT: v = *static_cast<const float *>(p); return true;
    case DALI_FLOAT64: v = *static_cast<const double *>(p); return true;
    default: return false;
  }
}

/// A shape as NumPy writes it: (), (3,), (2, 2).
std::string ShapeText(const TensorShape<> &shape) {
  std::string text = "(";
  for (int d = 0; d < shape.size(); ++d)
    text += (d ? ", " : "") + std::to_string(shape[d]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

/// The tensor argument input `name`, checked to hold `count` values for each of the n samples.
const TensorList<CPUBackend> &ArgumentBatch(const Workspace &ws, const char *name, int n,
                                            int64_t count = 1) {
  const TensorList<CPUBackend> &in = ws.ArgumentInput(name);
  DALI_ENFORCE(in.num_samples() == n,
               make_string(kOpName, ": argument `", name, "` has ", in.num_samples(),
                           " samples, expected one per image (", n, ")."));
  for (int i = 0; i < n; ++i)
    if (volume(in.tensor_shape(i)) != count)
      DALI_FAIL(make_string(kOpName, ": argument `", name, "`, sample ", i, ": expected ",
                            count == 1 ? std::string("one value (a scalar or shape (1,))")
                                       : make_string(count, " values (shape (", count, ",))"),
                            ", got shape ", ShapeText(in.tensor_shape(i)), "."));
  return in;
}

/// One integer per sample of an integer argument (`source`, `apply`, `cutmix`): an argument
/// input of any integer type (or bool, when allow_bool), or a constant.
std::vector<int64_t> IntegerArgument(const OpSpec &spec, const Workspace &ws, const char *name,
                                     int n, bool allow_bool, const char *expected) {
  if (!spec.HasTensorArgument(name))
    return std::vector<int64_t>(n, spec.GetArgument<int>(name));
  const TensorList<CPUBackend> &in = ArgumentBatch(ws, name, n);
  std::vector<int64_t> values(n);
  for (int i = 0; i < n; ++i)
    if (!IntegerValue(in.type(), in.raw_tensor(i), allow_bool, values[i]))
      DALI_FAIL(make_string(kOpName, ": argument `", name, "` must be ", expected, ", got ",
                            NumpyTypeName(in.type()), "."));
  return values;
}

/// `count` values per sample of a float argument (`lam`, `box_draw`): a float16/32/64 argument
/// input, or a constant (the same for every sample).
std::vector<double> FloatArgument(const OpSpec &spec, const Workspace &ws, const char *name,
                                  int n, const char *expected, int64_t count = 1) {
  std::vector<double> values(static_cast<size_t>(n) * count);
  if (!spec.HasTensorArgument(name)) {
    std::vector<float> constant;
    if (count == 1)
      constant.push_back(spec.GetArgument<float>(name));
    else
      constant = spec.GetRepeatedArgument<float>(name);
    DALI_ENFORCE(static_cast<int64_t>(constant.size()) == count,
                 make_string(kOpName, ": argument `", name, "`: expected ", count,
                             " values, got ", constant.size(), "."));
    for (size_t k = 0; k < values.size(); ++k) values[k] = constant[k % count];
    return values;
  }
  const TensorList<CPUBackend> &in = ArgumentBatch(ws, name, n, count);
  const size_t size = TypeTable::GetTypeInfo(in.type()).size();
  for (int i = 0; i < n; ++i)
    for (int64_t k = 0; k < count; ++k) {
      const void *p = static_cast<const uint8_t *>(in.raw_tensor(i)) + k * size;
      if (!FloatValue(in.type(), p, values[static_cast<size_t>(i) * count + k]))
        DALI_FAIL(make_string(kOpName, ": argument `", name, "` must be ", expected, ", got ",
                              NumpyTypeName(in.type()), "."));
    }
  return values;
}

/// A float32 argument value as the number its user wrote: the shortest decimal that rounds to
/// it (0.7f, which is 0.699999988079071, gives 0.7), read as a double. DALI keeps float
/// arguments as float32; timm computes with the Python float.
double AsWritten(float value) {
  char text[64];
  const auto written = std::to_chars(text, text + sizeof(text), value);
  double result = value;
  if (written.ec == std::errc()) std::from_chars(text, written.ptr, result);
  return result;
}

/// Fails, when a shared check (checks/mix_checks.h) found an error, with the operator's name and
/// the check's message, whose leading "images: " or "labels: " becomes the operator's input.
void Enforce(const std::string &error) {
  if (error.empty()) return;
  std::string message = error;
  if (message.rfind("images: ", 0) == 0) message = "input 0 (images): " + message.substr(8);
  if (message.rfind("labels: ", 0) == 0) message = "input 1 (labels): " + message.substr(8);
  DALI_FAIL(make_string(kOpName, ": ", message, "."));
}
}  // namespace

SaliencyMixArgs::SaliencyMixArgs(const OpSpec &spec)
    : output_info_(spec.GetArgument<bool>("output_mix_info")) {
  dsm::MixConfig &o = options_;
  dsm::MixRule &rule = o.rule;
  const int64_t num_classes = spec.GetArgument<int>("num_classes");
  o.num_classes = static_cast<int>(num_classes);
  o.label_smoothing = spec.GetArgument<float>("label_smoothing");
  rule.correct_lam = spec.GetArgument<bool>("correct_lam");
  std::string error = dsm::CheckMixMode(spec.GetArgument<std::string>("mode"), rule.mode);
  if (error.empty())
    error = dsm::CheckMixBox(spec.GetArgument<std::string>("box"), rule.random_box);
  if (error.empty())
    error = dsm::CheckMixPlacement(spec.GetArgument<std::string>("placement"),
                                   o.target_background);
  if (error.empty())
    error = dsm::CheckMixLabelWeights(spec.GetArgument<std::string>("label_weights"),
                                      o.saliency_weights);
  if (error.empty()) error = dsm::CheckMixOptions(num_classes, o.label_smoothing);
  if (error.empty()) {
    const std::vector<float> minmax = spec.GetRepeatedArgument<float>("cutmix_minmax");
    if (minmax.size() == 2) {
      rule.has_minmax = true;
      rule.minmax[0] = AsWritten(minmax[0]);
      rule.minmax[1] = AsWritten(minmax[1]);
      error = dsm::CheckCutmixMinmax(rule.minmax[0], rule.minmax[1]);
    } else if (!minmax.empty()) {
      error = "cutmix_minmax must be empty or two numbers (min, max), got " +
              std::to_string(minmax.size()) + " numbers";
    }
  }
  Enforce(error);
}

void SaliencyMixArgs::Setup(std::vector<OutputDesc> &output_desc,
                            const TensorListShape<> &image_shape, DALIDataType image_type,
                            const TensorList<CPUBackend> &labels, const OpSpec &spec,
                            const Workspace &ws, SaliencyMixBatch &batch) const {
  DALI_ENFORCE(image_type == DALI_UINT8,
               make_string(kOpName, ": input 0 (images) must be uint8 (decoded images), got ",
                           NumpyTypeName(image_type),
                           ". Apply it after cropping and before normalisation."));
  const int n = image_shape.num_samples();
  const int ndim = image_shape.sample_dim();
  DALI_ENFORCE(ndim == 2 || ndim == 3,
               make_string(kOpName, ": input 0 (images) must be HWC or HW, got ", ndim,
                           " dimensions."));
  output_desc.resize(num_outputs());
  output_desc[0] = {image_shape, DALI_UINT8};
  const int num_classes = options_.num_classes;
  output_desc[1] = {uniform_list_shape(n, TensorShape<>(num_classes)), DALI_FLOAT};
  if (output_info_) {
    output_desc[2] = {uniform_list_shape(n, TensorShape<>(4)), DALI_INT32};
    output_desc[3] = {uniform_list_shape(n, TensorShape<>()), DALI_FLOAT};
    output_desc[4] = {uniform_list_shape(n, TensorShape<>()), DALI_INT32};
    if (options_.target_background)
      output_desc[5] = {uniform_list_shape(n, TensorShape<>(4)), DALI_INT32};
  }
  batch.config = options_;
  batch.config.num_samples = n;
  batch.samples.clear();
  if (n == 0) return;  // an empty batch (e.g. from a conditional) gives empty outputs
  const auto first = image_shape.tensor_shape(0);
  for (int i = 1; i < n; ++i) {
    if (image_shape.tensor_shape(i) != first)
      DALI_FAIL(make_string(kOpName, ": input 0 (images): all images of a batch must have one "
                            "size, but sample 0 is ", first, " and sample ", i, " is ",
                            image_shape.tensor_shape(i), ". Crop or resize them to one size "
                            "first (e.g. fn.random_resized_crop(size=224) or fn.resize)."));
  }
  const int64_t channels = ndim == 3 ? first[2] : 1;
  const std::string shape_error = dsm::CheckImageShape(first[0], first[1], channels);
  Enforce(shape_error.empty() ? shape_error : "images: " + shape_error);
  dsm::MixConfig &config = batch.config;
  config.rule.height = static_cast<int>(first[0]);
  config.rule.width = static_cast<int>(first[1]);
  config.channels = static_cast<int>(channels);
  batch.samples.assign(n, dsm::MixSample{});

  // Labels: float soft vectors of num_classes values, or one integer class id per sample.
  DALI_ENFORCE(labels.num_samples() == n,
               make_string(kOpName, ": input 1 (labels) has ", labels.num_samples(),
                           " samples, expected ", n, "."));
  batch.soft = labels.type() == DALI_FLOAT;
  if (batch.soft) {
    for (int i = 0; i < n; ++i) {
      const int64_t len = volume(labels.tensor_shape(i));
      if (len != num_classes)
        DALI_FAIL(make_string(kOpName, ": input 1 (labels), sample ", i, ": float labels must be "
                              "soft vectors of num_classes = ", num_classes, " values, got shape ",
                              labels.tensor_shape(i), "."));
      batch.samples[i].soft_label = labels.tensor<float>(i);
    }
  } else {
    for (int i = 0; i < n; ++i) {
      int64_t id = 0;
      if (volume(labels.tensor_shape(i)) != 1 ||
          !IntegerValue(labels.type(), labels.raw_tensor(i), false, id))
        DALI_FAIL(make_string(kOpName, ": input 1 (labels), sample ", i, ": expected an integer "
                              "class id (scalar or shape (1,)) or a float32 soft vector of "
                              "length num_classes, got ", NumpyTypeName(labels.type()),
                              " of shape ", labels.tensor_shape(i), "."));
      Enforce(dsm::CheckClassId(i, id, num_classes));  // before narrowing to int32
      batch.samples[i].label_id = static_cast<int32_t>(id);
    }
  }

  // The draws, as argument inputs of the accepted types (or constants), range-checked while
  // still wide, then narrowed. No `source`: the reverse pairing N-1-i.
  std::vector<int64_t> source(n);
  if (spec.ArgumentDefined("source"))
    source = IntegerArgument(spec, ws, "source", n, false,
                             "an integer type (int32, as fn.batch_permutation gives)");
  else
    for (int i = 0; i < n; ++i) source[i] = n - 1 - i;
  const std::vector<int64_t> apply = IntegerArgument(
      spec, ws, "apply", n, true, "an integer type or bool (int32, as fn.random.coin_flip gives)");
  const std::vector<int64_t> cutmix = IntegerArgument(
      spec, ws, "cutmix", n, true, "an integer type or bool (int32, as fn.random.coin_flip gives)");
  const std::vector<double> lam =
      FloatArgument(spec, ws, "lam", n, "float32 (as fn.random.beta gives), float64 or float16");
  std::vector<double> box_draw;
  if (spec.ArgumentDefined("box_draw"))
    box_draw = FloatArgument(spec, ws, "box_draw", n,
                             "float32 (as fn.random.uniform gives), float64 or float16", 4);
  else if (config.UsesBoxDraws())
    Enforce(dsm::MissingBoxDraws());
  for (int i = 0; i < n; ++i) {
    dsm::MixSample &s = batch.samples[i];
    Enforce(dsm::CheckSource(i, source[i], n));
    Enforce(dsm::CheckLam(i, lam[i]));
    Enforce(dsm::CheckCutmix(i, cutmix[i]));
    s.draw.source = static_cast<int32_t>(source[i]);
    s.draw.lam = static_cast<float>(lam[i]);
    s.draw.apply = apply[i] != 0 ? 1 : 0;
    s.draw.cutmix = static_cast<int32_t>(cutmix[i]);
    if (!box_draw.empty()) {
      const double *u = &box_draw[4 * static_cast<size_t>(i)];
      if (config.UsesBoxDraws()) Enforce(dsm::CheckBoxDraw(i, u));  // before narrowing
      for (int k = 0; k < 4; ++k) s.draw.box_draw[k] = static_cast<float>(u[k]);
    }
  }
  Enforce(dsm::CheckMixArguments(config, batch.samples.data(), true));
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
  std::vector<dsm::MixSample> &samples = batch_.samples;
  for (int i = 0; i < batch_.config.num_samples; ++i) {
    dsm::MixSample &s = samples[i];
    s.image = images.tensor<uint8_t>(i);
    s.out_image = out_images.mutable_tensor<uint8_t>(i);
    s.out_label = out_labels.mutable_tensor<float>(i);
    if (args_.output_info()) {
      s.out_box = ws.Output<CPUBackend>(2).mutable_tensor<int32_t>(i);
      s.out_lam = ws.Output<CPUBackend>(3).mutable_tensor<float>(i);
      s.out_source = ws.Output<CPUBackend>(4).mutable_tensor<int32_t>(i);
      if (args_.num_outputs() == 6)
        s.out_dest_box = ws.Output<CPUBackend>(5).mutable_tensor<int32_t>(i);
    }
  }
  auto &pool = ws.GetThreadPool();
  const dsm::ParallelFor on_pool = [&pool](int count, int64_t cost,
                                          const std::function<void(int)> &body) {
    for (int k = 0; k < count; ++k) pool.AddWork([&body, k](int) { body(k); }, cost);
    pool.RunAll();
  };
  dsm::MixCpu(plan_, samples.data(), on_pool);
}

DALI_REGISTER_OPERATOR(SaliencyMix, SaliencyMix<CPUBackend>, CPU);

}  // namespace dali
