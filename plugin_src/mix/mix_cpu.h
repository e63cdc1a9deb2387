// The mixing family on the CPU (MixUp, CutMix with a random or saliency box): saliency peaks,
// decisions, paste or blend, and soft labels for a batch, the same steps as the CUDA path
// (mix_cuda.h). The caller chooses the parallelism: DALI's thread pool in the operator, one
// thread in the C API.
#pragma once

#include <cstdint>
#include <functional>

#include "box.h"
#include "plan.h"

namespace dsm {

/// Runs body(k) for every k in [0, count), in any order, possibly on several threads, and
/// returns when all are done (rethrowing an exception of a body). `cost` is the rough work of
/// one item, for schedulers that order by it.
using ParallelFor =
    std::function<void(int count, int64_t cost, const std::function<void(int)> &body)>;

/// A ParallelFor that runs the items one after another on the calling thread.
void SerialFor(int count, int64_t cost, const std::function<void(int)> &body);

/// Mixes a batch: the saliency peaks of the images that applied saliency boxes are centred on
/// (and the maps of the images whose masses content-aware CutMix reads), then per sample the
/// decision (box.h: DecideMix; ContentAwareCpu), the paste (CutMix) or blend (MixUp),
/// the soft label, and the optional outputs. Arguments must be valid (checks/mix_checks.h: CheckMixArguments). Throws
/// std::bad_alloc when scratch memory cannot be had.
void SaliencyMixCpu(const MixConfig &config, const MixSample *samples,
                    const ParallelFor &parallel_for);

/// (y, x) of the first maximum of an image's saliency map (SaliencyMapCpu's argmax).
void SaliencyPeakCpu(const uint8_t *image, int height, int width, int channels, int32_t *peak_yx);

/// out = target, with the region `box` of source pasted at `dest` (a box of the same size; by
/// default the same place). HWC uint8, all of one size; out must not alias the inputs.
void PasteCpu(const uint8_t *target, const uint8_t *source, uint8_t *out, int height, int width,
              int channels, const Box &box, const Box &dest);
inline void PasteCpu(const uint8_t *target, const uint8_t *source, uint8_t *out, int height,
                     int width, int channels, const Box &box) {
  PasteCpu(target, source, out, height, width, channels, box, box);
}

/// The int64 integral image ((H + 1) x (W + 1), row stride W + 1) of a uint8 saliency map:
/// integral[y][x] = sum of map[0..y-1][0..x-1], exact.
void SaliencyIntegralCpu(const uint8_t *map, int height, int width, int64_t *integral);

/// Sum of a uint8 map of `width` columns over a box, exact.
int64_t MapSumCpu(const uint8_t *map, int width, const Box &box);

/// The destination of a h x w box (1 <= h <= H, 1 <= w <= W) on the grid of placement
/// "target_background" that covers the least target saliency (from the target map's integral
/// image), the first in row-major order among equals.
Box BestPlacementCpu(const int64_t *integral, int height, int width, int h, int w);

/// Placement and weight by content of one CutMix decision (docs/algorithm.md, "Content-aware
/// placement and label weights"): with target_background, `dest` moves to BestPlacementCpu on
/// the target's map; with saliency_weights, lam becomes SaliencyLambda of the masses. The maps
/// (uint8, H x W) are read only when the box is not empty: the target's when either option is
/// on, the source's with saliency_weights. Other decisions are returned unchanged.
MixDecision ContentAwareCpu(const MixConfig &config, MixDecision d, const uint8_t *target_map,
                            const uint8_t *source_map);

/// out = BlendPixel(target, source, lam, 1 - lam) for every byte (MixUp). HWC uint8, all of
/// one size; out must not alias the inputs.
void BlendCpu(const uint8_t *target, const uint8_t *source, uint8_t *out, int64_t bytes,
              float lam);

/// Soft label [num_classes] of a pair, each label a soft vector or (soft pointer null) a class
/// id, with timm's label smoothing: MixLabel(Smooth(target), Smooth(source), lam) per class.
void MixLabelsCpu(const float *target_soft, int target_id, const float *source_soft,
                  int source_id, int num_classes, float smoothing, float lam, float *out);

}  // namespace dsm
