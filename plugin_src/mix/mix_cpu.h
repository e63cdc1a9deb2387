// The mixing family on the CPU (MixUp, CutMix with a random or saliency box): saliency peaks,
// decisions, paste or blend, and soft labels for a batch, the same steps as the CUDA path
// (mix_cuda.h). The caller plans the batch (plan.h: PlanMix), then runs the plan, and chooses
// the parallelism: DALI's thread pool in the operator, one thread in the C API.
#pragma once

#include <cstdint>
#include <functional>

#include "plan.h"

namespace dsm {

/// Runs body(k) for every k in [0, count), in any order, possibly on several threads, and
/// returns when all are done (rethrowing an exception of a body). `cost` is the rough work of
/// one item, for schedulers that order by it.
using ParallelFor =
    std::function<void(int count, int64_t cost, const std::function<void(int)> &body)>;

/// A ParallelFor that runs the items one after another on the calling thread.
void SerialFor(int count, int64_t cost, const std::function<void(int)> &body);

/// Mixes a batch as planned (`samples` as given to PlanMix, with their image and output
/// pointers set): the saliency peaks of the images that applied saliency boxes are centred on
/// (and the maps of the images whose masses content-aware CutMix reads), then per sample the
/// decision (box.h: DecideMix, then placement and weights by content), the paste (CutMix) or
/// blend (MixUp), the soft label, and the optional outputs. Throws std::bad_alloc when scratch
/// memory cannot be had.
void MixCpu(const MixPlan &plan, const MixSample *samples, const ParallelFor &parallel_for);

}  // namespace dsm
