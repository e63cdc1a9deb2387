// Schema and the CPU operator of `fn.saliency_mix` (its arguments: saliency_mix_args.cc).
#include "saliency_mix.h"

#include <functional>
#include <string>
#include <vector>

#include "../mix/mix_cpu.h"

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
                    "(the first of its pair's).", "batch")
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

template <>
SaliencyMix<CPUBackend>::SaliencyMix(const OpSpec &spec)
    : StatelessOperator<CPUBackend>(spec), args_(spec) {}

template <>
void SaliencyMix<CPUBackend>::RunImpl(Workspace &ws) {
  SetSamplePointers<CPUBackend>(ws, args_, batch_.samples);
  auto &pool = ws.GetThreadPool();
  const dsm::ParallelFor on_pool = [&pool](int count, int64_t cost,
                                          const std::function<void(int)> &body) {
    for (int k = 0; k < count; ++k) pool.AddWork([&body, k](int) { body(k); }, cost);
    pool.RunAll();
  };
  dsm::MixCpu(plan_, batch_.samples.data(), on_pool);
}

DALI_REGISTER_OPERATOR(SaliencyMix, SaliencyMix<CPUBackend>, CPU);

}  // namespace dali
