// Per-sample arithmetic of the mixing family (the CutMix box, the target weight, the MixUp
// blend, the soft labels), shared by the CPU and CUDA paths. Semantics: docs/algorithm.md, "The
// mixing family" (timm's rand_bbox, rand_bbox_minmax and FastCollateMixup, the official
// SaliencyMix box rule, timm's label smoothing) and "Content-aware placement and label weights"
// (the grid of destinations, the saliency masses and the weight by content).
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

/// v clipped to [0, length] (64-bit: a centre plus half a side may pass 2^31 on tall images).
DSM_HD int32_t ClipToAxis(int64_t v, int length) {
  return static_cast<int32_t>(v < 0 ? 0 : (v > length ? length : v));
}

DSM_HD float MulF(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

DSM_HD float SqrtF(float a) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(a);
#else
  return std::sqrt(a);  // IEEE correctly rounded (no fast-math)
#endif
}

DSM_HD double SqrtD(double a) {
#if defined(__CUDA_ARCH__)
  return __dsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
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

/// The per-batch constants of a decision.
struct MixRule {
  int32_t height = 0, width = 0;
  bool correct_lam = true;
  bool random_box = false;   ///< box placed by the draws (timm), else centred on the peak
  bool float32_box = false;  ///< rand_bbox's side in float32 (elem, pair), else double (batch)
  bool has_minmax = false;   ///< sides drawn from [int(L * min), int(L * max)) (timm)
  double minmax[2] = {0.0, 0.0};
};

/// timm's rand_bbox: the side from lam (float32 or double, see MixRule), the centre
/// (floor(u0 * H), floor(u1 * W)), y1 = clip(cy - cut_h // 2, 0, H),
/// y2 = clip(cy + (cut_h + 1) // 2, 0, H), the same along x.
DSM_HD Box RandomBox(const MixRule &r, float lam, const float *u) {
  const int cut_h = r.float32_box ? CutLengthF32(r.height, lam) : CutLength(r.height, lam);
  const int cut_w = r.float32_box ? CutLengthF32(r.width, lam) : CutLength(r.width, lam);
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

// ---- Content-aware placement and label weights ---------------------------------------------
// Saliency maps are uint8 (the fine-grained saliency of the images being mixed); masses are
// exact int64 sums (at most 255 * (2^31 - 1) < 2^39), box sums come from an int64 integral
// image I of (H + 1) x (W + 1), I[y][x] = the sum of map[0..y-1][0..x-1].

/// Stride, in pixels, of the grid of destination corners of placement "target_background".
constexpr int kPlacementStride = 8;

/// Number of destination corners of a box side `side` (1 <= side <= length) along an axis of
/// `length`: 0, S, 2S, ... up to length - side, and length - side itself when it is not a
/// multiple of S (so that the box can touch the far edge).
DSM_HD int64_t PlacementCount(int length, int side) {
  const int64_t room = static_cast<int64_t>(length) - side;
  return room / kPlacementStride + 1 + (room % kPlacementStride != 0 ? 1 : 0);
}

/// The k-th destination corner (ascending) of PlacementCount: min(k * S, length - side).
DSM_HD int32_t PlacementAt(int length, int side, int64_t k) {
  const int64_t room = static_cast<int64_t>(length) - side;
  const int64_t v = k * kPlacementStride;
  return static_cast<int32_t>(v < room ? v : room);
}

/// Sum of the map over [y1, y2) x [x1, x2) from its int64 integral image (row stride W + 1).
DSM_HD int64_t BoxSum(const int64_t *integral, int width, int y1, int x1, int y2, int x2) {
  const int64_t stride = static_cast<int64_t>(width) + 1;
  const int64_t *top = integral + y1 * stride;
  const int64_t *bottom = integral + y2 * stride;
  return (bottom[x2] - bottom[x1]) - (top[x2] - top[x1]);
}

/// Saliency mass of the target inside destination candidate k (row-major over the grid:
/// k = a * count_x + b, corner (PlacementAt(H, h, a), PlacementAt(W, w, b))) of a h x w box.
DSM_HD int64_t PlacementCost(const int64_t *integral, int height, int width, int h, int w,
                             int64_t count_x, int64_t k, Box &dest) {
  dest.y1 = PlacementAt(height, h, k / count_x);
  dest.x1 = PlacementAt(width, w, k % count_x);
  dest.y2 = dest.y1 + h;
  dest.x2 = dest.x1 + w;
  return BoxSum(integral, width, dest.y1, dest.x1, dest.y2, dest.x2);
}

/// The target weight by content (label_weights "saliency"): with T_vis = target_total -
/// target_covered (the target's mass left visible) and source_in (the source's mass pasted),
/// lam = T_vis / (T_vis + source_in) in double, then float32; when both are 0 (flat maps, or an
/// empty box on a flat target), the area weight 1 - area / (H * W) of the box.
DSM_HD float SaliencyLambda(int64_t target_total, int64_t target_covered, int64_t source_in,
                            const Box &box, int height, int width) {
  const int64_t visible = target_total - target_covered;
  const int64_t total = visible + source_in;
  if (total > 0)
    return static_cast<float>(DivD(static_cast<double>(visible), static_cast<double>(total)));
  return CorrectedLambda(box, height, width);
}

/// One MixUp pixel: round-half-to-even(float(a) * lam + float(b) * rest) as uint8, float32
/// throughout, no FMA, with rest = 1.0f - lam (a: target, b: source). timm's FastCollateMixup
/// (np.rint of the float32 blend) bit for bit. The value lies in [0, 255] (a convex combination
/// of two bytes, within float32 rounding), so the cast keeps it.
DSM_HD uint8_t BlendPixel(uint8_t a, uint8_t b, float lam, float rest) {
#if defined(__CUDA_ARCH__)
  const float v = __fadd_rn(__fmul_rn(static_cast<float>(a), lam),
                            __fmul_rn(static_cast<float>(b), rest));
  return static_cast<uint8_t>(__float2int_rn(v));  // round to nearest, ties to even
#else
  const float v = static_cast<float>(a) * lam + static_cast<float>(b) * rest;  // no FMA
  return static_cast<uint8_t>(std::nearbyint(v));  // default rounding: nearest, ties to even
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
