// The mixed soft labels, shared by the CPU and CUDA paths: timm's label smoothing, then the two
// labels weighted by lam (docs/algorithm.md, "SaliencyMix", "Labels").
#pragma once

#include "../common/exact_float.h"

namespace dsm {

/// timm's label smoothing of one label value v (one-hot or soft): v * (1 - eps) + eps / C, float32.
/// For a one-hot this gives on = 1 - eps + eps / C and off = eps / C exactly.
DSM_HD float SmoothLabel(float v, float smoothing, int num_classes) {
  return AddF(MulF(v, SubF(1.0f, smoothing)), DivF(smoothing, static_cast<float>(num_classes)));
}

/// Value of class `c` of a label given as a soft vector, or (`soft` null) as the one-hot vector
/// of class id `label_id`.
DSM_HD float LabelValue(const float *soft, int label_id, int c) {
  return soft ? soft[c] : (c == label_id ? 1.0f : 0.0f);
}

/// Mixed soft label of class `c`: y_target * lam + y_source * (1 - lam), float32 in that order.
DSM_HD float MixLabel(float y_target, float y_source, float lam) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(__fmul_rn(y_target, lam), __fmul_rn(y_source, __fsub_rn(1.0f, lam)));
#else
  return y_target * lam + y_source * (1.0f - lam);  // -ffp-contract=off: no FMA
#endif
}

}  // namespace dsm
