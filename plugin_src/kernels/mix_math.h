// Per-sample arithmetic of SaliencyMix (box, corrected lambda, soft labels), shared by the CPU
// and CUDA paths. Semantics: docs/algorithm.md, "The box" and "Labels" (the official SaliencyMix
// code's box rules, timm's label smoothing).
#pragma once

#include <cmath>
#include <cstdint>

#include "fine_grained_saliency_math.h"

namespace dsm {

/// A box [y1, y2) x [x1, x2) in pixel coordinates.
struct Box {
  int32_t y1 = 0, x1 = 0, y2 = 0, x2 = 0;
  DSM_HD int64_t Area() const { return static_cast<int64_t>(y2 - y1) * (x2 - x1); }
};

DSM_HD int ClampInt(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

/// Side length of the cut along an axis of `length` pixels: int(length * sqrt(1 - lam)), in
/// double as NumPy computes it.
DSM_HD int CutLength(int length, float lam) {
  double rest = 1.0 - static_cast<double>(lam);
  rest = rest < 0.0 ? 0.0 : rest;
#if defined(__CUDA_ARCH__)
  const double ratio = __dsqrt_rn(rest);
#else
  const double ratio = std::sqrt(rest);
#endif
  return static_cast<int>(MulD(static_cast<double>(length), ratio));
}

/// The box of cut size (from lam) centred on (cy, cx), clipped to the image (it shrinks at the
/// borders, it is not shifted): y1 = clip(cy - cut_h // 2, 0, H), y2 = clip(cy + cut_h // 2, 0, H).
DSM_HD Box CenteredBox(int height, int width, float lam, int cy, int cx) {
  const int half_h = CutLength(height, lam) / 2;
  const int half_w = CutLength(width, lam) / 2;
  Box b;
  b.y1 = ClampInt(cy - half_h, 0, height);
  b.y2 = ClampInt(cy + half_h, 0, height);
  b.x1 = ClampInt(cx - half_w, 0, width);
  b.x2 = ClampInt(cx + half_w, 0, width);
  return b;
}

/// Weight of the target: 1 - area / (H * W) of the clipped box (double, then float32).
DSM_HD float CorrectedLambda(const Box &box, int height, int width) {
  const double area = static_cast<double>(box.Area());
  const double total = static_cast<double>(height) * static_cast<double>(width);
  return static_cast<float>(1.0 - DivD(area, total));
}

/// The box and the target weight lam of one pair. Not applied (coin flip false): empty box,
/// lam = 1. `correct_lam`: lam = 1 - box area / image area, else the sampled lam.
struct MixDecision {
  Box box;
  float lam = 1.0f;
};

DSM_HD MixDecision DecideMix(int height, int width, float sampled_lam, bool apply, int peak_y,
                             int peak_x, bool correct_lam) {
  MixDecision d;
  if (!apply) return d;
  d.box = CenteredBox(height, width, sampled_lam, peak_y, peak_x);
  d.lam = correct_lam ? CorrectedLambda(d.box, height, width) : sampled_lam;
  return d;
}

DSM_HD float MulF(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

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
