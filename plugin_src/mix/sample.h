// One sample of a batch of the mixing family, as the CPU and CUDA paths both see it: its images
// and labels, its random draw, and its outputs (written from its decision by WriteMixOutputs,
// on the host and the device alike).
#pragma once

#include <cstdint>

#include "box.h"

namespace dsm {

/// The random draws of one sample: its partner (source index), sampled lam, coin flip, the
/// MixUp/CutMix switch and the box draws. Host values.
struct MixDraw {
  int32_t source = 0;  ///< the partner of this sample (an index in the batch)
  float lam = 1.0f;    ///< sampled target weight
  int32_t apply = 0;   ///< coin flip (non-zero: mix)
  int32_t cutmix = 1;  ///< 1: this mixing event is CutMix, 0: MixUp (checks/mix_checks.h)
  float box_draw[4] = {0.0f, 0.0f, 0.0f, 0.0f};  ///< uniform draws in [0, 1] (random/minmax box)
};

/// One sample of a batch. On the CPU path every pointer is a host pointer; on the CUDA path the
/// image and label pointers are device pointers. The draw and the class id are host values.
struct MixSample {
  const uint8_t *image = nullptr;     ///< HWC uint8 (all samples of a batch one size)
  uint8_t *out_image = nullptr;       ///< mixed image, same size; must not overlap any input
  const float *soft_label = nullptr;  ///< [num_classes] soft vector, or null: use label_id
  float *out_label = nullptr;         ///< [num_classes] mixed soft label
  int32_t *out_box = nullptr;         ///< optional [4]: y1, x1, y2, x2 (the box in the source)
  int32_t *out_dest_box = nullptr;    ///< optional [4]: where the box went in the target
  float *out_lam = nullptr;           ///< optional: the target weight
  int32_t *out_source = nullptr;      ///< optional: the source index
  int32_t label_id = 0;               ///< class id, when soft_label is null
  MixDraw draw;
};

/// A box as four int32 values: y1, x1, y2, x2.
DSM_HD void WriteBox(const Box &box, int32_t *out) {
  out[0] = box.y1;
  out[1] = box.x1;
  out[2] = box.y2;
  out[3] = box.x2;
}

/// The optional outputs of a sample from its final decision: the box in the source, where it
/// went in the target, the target weight and the source index.
DSM_HD void WriteMixOutputs(const MixSample &s, const MixDecision &d) {
  if (s.out_box) WriteBox(d.box, s.out_box);
  if (s.out_dest_box) WriteBox(d.dest, s.out_dest_box);
  if (s.out_lam) *s.out_lam = d.lam;
  if (s.out_source) *s.out_source = s.draw.source;
}

}  // namespace dsm
