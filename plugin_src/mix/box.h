// The decision of one sample of the mixing family, shared by the CPU and CUDA paths: the CutMix
// box, the target weight lam and the kind of mix (docs/algorithm.md, "The mixing family":
// timm's rand_bbox and rand_bbox_minmax, the official SaliencyMix box rule).
#pragma once

#include <cstdint>

#include "../common/exact_float.h"

namespace dsm {

/// A box [y1, y2) x [x1, x2) in pixel coordinates.
struct Box {
  int32_t y1 = 0, x1 = 0, y2 = 0, x2 = 0;
  DSM_HD int64_t Area() const { return static_cast<int64_t>(y2 - y1) * (x2 - x1); }
};

/// v clipped to [0, length] (64-bit: a centre plus half a side may pass 2^31 on tall images).
DSM_HD int32_t ClipToAxis(int64_t v, int length) {
  return static_cast<int32_t>(v < 0 ? 0 : (v > length ? length : v));
}

/// floor(u * n) for a uniform draw u in [0, 1] and n >= 1, as (int)((double)u * n), clamped to
/// n - 1 (u may be exactly 1): an index in [0, n). (timm's np.random.randint(0, n).)
DSM_HD int64_t UniformIndex(float u, int64_t n) {
  if (n <= 1) return 0;
  const int64_t k = static_cast<int64_t>(MulD(static_cast<double>(u), static_cast<double>(n)));
  return k < 0 ? 0 : (k > n - 1 ? n - 1 : k);
}

/// Side length of the cut along an axis of `length` pixels: int(length * sqrt(1 - lam)), in
/// double (1 - lam, the square root and the product), as NumPy computes it on a Python float.
DSM_HD int CutLength(int length, float lam) {
  double rest = 1.0 - static_cast<double>(lam);
  rest = rest < 0.0 ? 0.0 : rest;
  return static_cast<int>(MulD(static_cast<double>(length), SqrtD(rest)));
}

/// The same in float32 (1.0f - lam, sqrtf, (float)length * ratio), as NumPy computes it on a
/// numpy float32 lam (timm's elem and pair modes).
DSM_HD int CutLengthF32(int length, float lam) {
  float rest = SubF(1.0f, lam);
  rest = rest < 0.0f ? 0.0f : rest;
  return static_cast<int>(MulF(static_cast<float>(length), SqrtF(rest)));
}

/// The box of cut size (from lam) centred on (cy, cx), clipped to the image (it shrinks at the
/// borders, it is not shifted): y1 = clip(cy - cut_h // 2, 0, H), y2 = clip(cy + cut_h // 2, 0, H)
/// (the official SaliencyMix rule).
DSM_HD Box CenteredBox(int height, int width, float lam, int cy, int cx) {
  const int half_h = CutLength(height, lam) / 2;
  const int half_w = CutLength(width, lam) / 2;
  Box b;
  b.y1 = ClipToAxis(static_cast<int64_t>(cy) - half_h, height);
  b.y2 = ClipToAxis(static_cast<int64_t>(cy) + half_h, height);
  b.x1 = ClipToAxis(static_cast<int64_t>(cx) - half_w, width);
  b.x2 = ClipToAxis(static_cast<int64_t>(cx) + half_w, width);
  return b;
}

/// Weight of the target: 1 - area / (H * W) of the clipped box (double, then float32).
DSM_HD float CorrectedLambda(const Box &box, int height, int width) {
  const double area = static_cast<double>(box.Area());
  const double total = static_cast<double>(height) * static_cast<double>(width);
  return static_cast<float>(1.0 - DivD(area, total));
}

/// Which sample's draw governs sample i (plan.h: GoverningIndex): its own (elem), sample 0's
/// (batch) or the first of its pair's (pair).
enum class MixMode : int32_t { kElem = 0, kBatch = 1, kPair = 2 };

/// The per-batch constants of a decision: the image size, the mode and the box options.
struct MixRule {
  int32_t height = 0, width = 0;
  MixMode mode = MixMode::kElem;
  bool correct_lam = true;
  bool random_box = false;        ///< box placed by the draws (timm), else centred on the peak
  bool has_minmax = false;        ///< sides drawn from [int(L * min), int(L * max)) (timm)
  double minmax[2] = {0.0, 0.0};  ///< (min, max), 0 < min < max <= 1, when has_minmax

  /// rand_bbox's side in float32 (elem, pair: timm's lam is a numpy float32 there), else in
  /// double (batch: a Python float).
  DSM_HD bool Float32Box() const { return mode != MixMode::kBatch; }
};

/// timm's rand_bbox: the side from lam (float32 or double, see MixRule), the centre
/// (floor(u0 * H), floor(u1 * W)), y1 = clip(cy - cut_h // 2, 0, H),
/// y2 = clip(cy + (cut_h + 1) // 2, 0, H), the same along x.
DSM_HD Box RandomBox(const MixRule &r, float lam, const float *u) {
  const int cut_h = r.Float32Box() ? CutLengthF32(r.height, lam) : CutLength(r.height, lam);
  const int cut_w = r.Float32Box() ? CutLengthF32(r.width, lam) : CutLength(r.width, lam);
  const int64_t cy = UniformIndex(u[0], r.height), cx = UniformIndex(u[1], r.width);
  Box b;
  b.y1 = ClipToAxis(cy - cut_h / 2, r.height);
  b.y2 = ClipToAxis(cy + (cut_h + 1) / 2, r.height);
  b.x1 = ClipToAxis(cx - cut_w / 2, r.width);
  b.x2 = ClipToAxis(cx + (cut_w + 1) / 2, r.width);
  return b;
}

/// The sizes of timm's rand_bbox_minmax along an axis: [int(L * min), int(L * max)), in double.
DSM_HD int MinmaxLow(int length, const double *minmax) {
  return static_cast<int>(MulD(static_cast<double>(length), minmax[0]));
}
DSM_HD int MinmaxHigh(int length, const double *minmax) {
  return static_cast<int>(MulD(static_cast<double>(length), minmax[1]));
}

/// A side drawn from the minmax range: lo + floor(u * (hi - lo)) (hi > lo is checked before).
DSM_HD int MinmaxSide(int length, const double *minmax, float u) {
  const int lo = MinmaxLow(length, minmax), hi = MinmaxHigh(length, minmax);
  return lo + static_cast<int>(UniformIndex(u, static_cast<int64_t>(hi) - lo));
}

/// A box of the drawn minmax sides: placed by the draws (timm's rand_bbox_minmax:
/// y1 = floor(u2 * (H - cut_h + 1)), y2 = y1 + cut_h), or centred on the peak and clipped
/// (y1 = clip(py - cut_h // 2, 0, H), y2 = clip(py - cut_h // 2 + cut_h, 0, H)).
DSM_HD Box MinmaxBox(const MixRule &r, const float *u, int peak_y, int peak_x) {
  const int cut_h = MinmaxSide(r.height, r.minmax, u[0]);
  const int cut_w = MinmaxSide(r.width, r.minmax, u[1]);
  Box b;
  if (r.random_box) {
    b.y1 = static_cast<int32_t>(UniformIndex(u[2], static_cast<int64_t>(r.height) - cut_h + 1));
    b.x1 = static_cast<int32_t>(UniformIndex(u[3], static_cast<int64_t>(r.width) - cut_w + 1));
    b.y2 = b.y1 + cut_h;
    b.x2 = b.x1 + cut_w;
  } else {
    const int64_t top = static_cast<int64_t>(peak_y) - cut_h / 2;
    const int64_t left = static_cast<int64_t>(peak_x) - cut_w / 2;
    b.y1 = ClipToAxis(top, r.height);
    b.y2 = ClipToAxis(top + cut_h, r.height);
    b.x1 = ClipToAxis(left, r.width);
    b.x2 = ClipToAxis(left + cut_w, r.width);
  }
  return b;
}

/// What happens to one sample's pixels.
enum class MixKind : int32_t {
  kNone = 0,    ///< the target unchanged
  kCutMix = 1,  ///< the box taken from the source
  kMixUp = 2,   ///< every pixel blended: BlendPixel(target, source, lam)
};

/// The box, the target weight lam and the kind of one sample. Not applied: empty box, lam = 1.
/// `box` is the box in the source; `dest` where it goes in the target (the same box, unless
/// placement "target_background" moves it: PlacementAt, BestPlacement).
struct MixDecision {
  Box box;
  Box dest;
  float lam = 1.0f;
  MixKind kind = MixKind::kNone;
};

/// The decision of one sample from its governing draw (lam, apply, cutmix, box draws u[4]) and,
/// for a saliency box, the peak (y, x) of its peak image:
/// - not applied: nothing, lam = 1;
/// - MixUp (cutmix false): the sampled lam, no box (lam == 1: nothing to blend);
/// - CutMix with minmax: MinmaxBox, lam always corrected;
/// - CutMix: RandomBox or CenteredBox, lam corrected when correct_lam, else the sampled lam.
DSM_HD MixDecision DecideMix(const MixRule &r, float lam, bool apply, bool cutmix, const float *u,
                             int peak_y, int peak_x) {
  MixDecision d;
  if (!apply) return d;
  if (!cutmix) {
    d.lam = lam;
    d.kind = lam == 1.0f ? MixKind::kNone : MixKind::kMixUp;
    return d;
  }
  d.kind = MixKind::kCutMix;
  if (r.has_minmax) {
    d.box = MinmaxBox(r, u, peak_y, peak_x);
    d.dest = d.box;
    d.lam = CorrectedLambda(d.box, r.height, r.width);
    return d;
  }
  d.box = r.random_box ? RandomBox(r, lam, u) : CenteredBox(r.height, r.width, lam, peak_y, peak_x);
  d.dest = d.box;
  d.lam = r.correct_lam ? CorrectedLambda(d.box, r.height, r.width) : lam;
  return d;
}

}  // namespace dsm
