// How the CUDA host code lays out scratch memory and batched grids: one copy for the saliency
// and the mixing family's launchers.
#pragma once

#include <cstddef>

namespace dsm {

/// Alignment, in bytes, of every buffer inside a scratch or staging area.
constexpr size_t kAlign = 256;

/// `v` rounded up to a multiple of kAlign.
inline size_t AlignUp(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

/// The largest gridDim.y, which batched launches use as the sample index: larger batches go in
/// chunks of this many samples.
constexpr int kMaxGridY = 65535;

}  // namespace dsm
