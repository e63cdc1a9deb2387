// The arguments of `fn.saliency_mix` and the reading and checking of its batch, for the CPU and
// GPU operators alike (the checks themselves are checks/mix_checks.h, shared with the C API).
#include <locale.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../checks/image_checks.h"
#include "../checks/mix_checks.h"
#include "argument_inputs.h"
#include "saliency_mix.h"

namespace dali {

namespace {
constexpr const char *kOpName = "fn.saliency_mix";

/// A float32 argument value as the number its user wrote: the shortest decimal that rounds to
/// it (0.7f, which is 0.699999988079071, gives 0.7), read as a double. DALI keeps float
/// arguments as float32; timm computes with the Python float. The shortest decimal is the first
/// correctly rounded one of 1 to 9 significant digits that reads back as `value` (9 always do).
double AsWritten(float value) {
  // In the "C" locale (this thread only): a decimal comma would make every reading fail.
  const locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", static_cast<locale_t>(0));
  const locale_t former = c_locale ? uselocale(c_locale) : static_cast<locale_t>(0);
  double result = value;
  char text[64];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(text, sizeof(text), "%.*g", digits, static_cast<double>(value));
    if (std::strtof(text, nullptr) == value) {
      result = std::strtod(text, nullptr);
      break;
    }
  }
  if (c_locale) {
    uselocale(former);
    freelocale(c_locale);
  }
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
  CheckImageInput(image_type, image_shape.sample_dim());
  DescribeOutputs(output_desc, image_shape);
  const int n = image_shape.num_samples();
  batch.config = options_;
  batch.config.num_samples = n;
  batch.samples.clear();
  if (n == 0) return;  // an empty batch (e.g. from a conditional) gives empty outputs
  ReadImageSize(image_shape, batch.config);
  batch.samples.assign(n, dsm::MixSample{});
  ReadLabels(labels, batch);
  ReadDraws(spec, ws, batch);
  Enforce(dsm::CheckMixArguments(batch.config, batch.samples.data(), true));
}

void SaliencyMixArgs::CheckImageInput(DALIDataType image_type, int ndim) {
  DALI_ENFORCE(image_type == DALI_UINT8,
               make_string(kOpName, ": input 0 (images) must be uint8 (decoded images), got ",
                           NumpyTypeName(image_type),
                           ". Apply it after cropping and before normalisation."));
  DALI_ENFORCE(ndim == 2 || ndim == 3,
               make_string(kOpName, ": input 0 (images) must be HWC or HW, got ", ndim,
                           " dimensions."));
}

void SaliencyMixArgs::DescribeOutputs(std::vector<OutputDesc> &output_desc,
                                      const TensorListShape<> &image_shape) const {
  const int n = image_shape.num_samples();
  output_desc.resize(num_outputs());
  output_desc[0] = {image_shape, DALI_UINT8};
  output_desc[1] = {uniform_list_shape(n, TensorShape<>(options_.num_classes)), DALI_FLOAT};
  if (!output_info_) return;
  output_desc[2] = {uniform_list_shape(n, TensorShape<>(4)), DALI_INT32};
  output_desc[3] = {uniform_list_shape(n, TensorShape<>()), DALI_FLOAT};
  output_desc[4] = {uniform_list_shape(n, TensorShape<>()), DALI_INT32};
  if (options_.target_background)
    output_desc[5] = {uniform_list_shape(n, TensorShape<>(4)), DALI_INT32};
}

void SaliencyMixArgs::ReadImageSize(const TensorListShape<> &image_shape,
                                    dsm::MixConfig &config) {
  const auto first = image_shape.tensor_shape_span(0);  // a view: no shape is copied
  for (int i = 1; i < image_shape.num_samples(); ++i) {
    if (image_shape.tensor_shape_span(i) != first)
      DALI_FAIL(make_string(kOpName, ": input 0 (images): all images of a batch must have one "
                            "size, but sample 0 is ", image_shape.tensor_shape(0), " and sample ",
                            i, " is ", image_shape.tensor_shape(i), ". Crop or resize them to "
                            "one size first (e.g. fn.random_resized_crop(size=224) or "
                            "fn.resize)."));
  }
  const int64_t channels = image_shape.sample_dim() == 3 ? first[2] : 1;
  const std::string shape_error = dsm::CheckImageShape(first[0], first[1], channels);
  Enforce(shape_error.empty() ? shape_error : "images: " + shape_error);
  config.rule.height = static_cast<int>(first[0]);
  config.rule.width = static_cast<int>(first[1]);
  config.channels = static_cast<int>(channels);
}

void SaliencyMixArgs::ReadLabels(const TensorList<CPUBackend> &labels,
                                 SaliencyMixBatch &batch) const {
  const int n = batch.config.num_samples;
  const int num_classes = options_.num_classes;
  DALI_ENFORCE(labels.num_samples() == n,
               make_string(kOpName, ": input 1 (labels) has ", labels.num_samples(),
                           " samples, expected ", n, "."));
  batch.soft = labels.type() == DALI_FLOAT;
  for (int i = 0; i < n; ++i) {
    if (batch.soft) {
      if (volume(labels.tensor_shape(i)) != num_classes)
        DALI_FAIL(make_string(kOpName, ": input 1 (labels), sample ", i, ": float labels must be "
                              "soft vectors of num_classes = ", num_classes, " values, got shape ",
                              labels.tensor_shape(i), "."));
      batch.samples[i].soft_label = labels.tensor<float>(i);
      continue;
    }
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

void SaliencyMixArgs::ReadDraws(const OpSpec &spec, const Workspace &ws,
                                SaliencyMixBatch &batch) {
  const int n = batch.config.num_samples;
  const ArgumentInputs arguments(kOpName, spec, ws, n);
  constexpr const char *kFlipTypes =
      "an integer type or bool (int32, as fn.random.coin_flip gives)";
  std::vector<int64_t> source(n);  // no `source`: the reverse pairing N-1-i
  if (spec.ArgumentDefined("source"))
    source = arguments.Integers("source", false,
                                "an integer type (int32, as fn.batch_permutation gives)");
  else
    for (int i = 0; i < n; ++i) source[i] = n - 1 - i;
  const std::vector<int64_t> apply = arguments.Integers("apply", true, kFlipTypes);
  const std::vector<int64_t> cutmix = arguments.Integers("cutmix", true, kFlipTypes);
  const std::vector<double> lam =
      arguments.Floats("lam", "float32 (as fn.random.beta gives), float64 or float16");
  std::vector<double> box_draw;
  if (spec.ArgumentDefined("box_draw"))
    box_draw = arguments.Floats(
        "box_draw", "float32 (as fn.random.uniform gives), float64 or float16", 4);
  else if (batch.config.UsesBoxDraws())
    Enforce(dsm::MissingBoxDraws());
  for (int i = 0; i < n; ++i) {
    dsm::MixDraw &d = batch.samples[i].draw;
    Enforce(dsm::CheckSource(i, source[i], n));
    Enforce(dsm::CheckLam(i, lam[i]));
    Enforce(dsm::CheckCutmix(i, cutmix[i]));
    d.source = static_cast<int32_t>(source[i]);
    d.lam = static_cast<float>(lam[i]);
    d.apply = apply[i] != 0 ? 1 : 0;
    d.cutmix = static_cast<int32_t>(cutmix[i]);
    if (box_draw.empty()) continue;
    const double *u = &box_draw[4 * static_cast<size_t>(i)];
    if (batch.config.UsesBoxDraws()) Enforce(dsm::CheckBoxDraw(i, u));  // before narrowing
    for (int k = 0; k < 4; ++k) d.box_draw[k] = static_cast<float>(u[k]);
  }
}

}  // namespace dali
