// Content-aware placement and label weights of CutMix, shared by the CPU and CUDA paths
// (docs/algorithm.md, "Content-aware placement and label weights"): the grid of destinations of
// placement "target_background", the saliency masses of boxes, and the target weight of
// label_weights "saliency".
//
// Saliency maps are uint8 (the fine-grained saliency of the images being mixed); masses are
// exact int64 sums (at most 255 * (2^31 - 1) < 2^39), box sums come from an int64 integral
// image I of (H + 1) x (W + 1), I[y][x] = the sum of map[0..y-1][0..x-1].
#pragma once

#include <cstdint>

#include "box.h"

namespace dsm {

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

}  // namespace dsm
