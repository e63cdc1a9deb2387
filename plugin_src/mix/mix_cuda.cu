// The mixing family on CUDA: saliency (peaks, and the maps that content-aware CutMix reads) ->
// int64 integral images of those maps -> decide (box, lam, kind) -> place and weigh by content
// -> paste or blend -> labels.
#include "mix_cuda.h"

#include <algorithm>
#include <climits>
#include <vector>

#include "../common/cuda_layout.h"
#include "../common/cuda_try.h"
#include "../common/integral_image.cuh"
#include "../saliency/fine_grained_saliency_cuda.h"
#include "blend.h"
#include "box.h"
#include "labels.h"
#include "placement.h"

namespace dsm {
namespace {

/// Bytes of one int64 integral image of an H x W map ((H + 1) x (W + 1)), aligned.
size_t IntegralBytes(const MixConfig &c) {
  const size_t entries =
      (static_cast<size_t>(c.rule.height) + 1) * (static_cast<size_t>(c.rule.width) + 1);
  return AlignUp(entries * sizeof(int64_t));
}

/// Device view of one sample, filled on the host except for the decision.
struct MixDesc {
  MixSample io;
  const uint8_t *source_image;
  const float *source_soft_label;
  int32_t source_label_id;
  MixDraw governing;    // GoverningDraw: the lam, flip, switch and box draws of sample i
  const int32_t *peak;  // (y, x) of the image a saliency box is centred on (PeakImage), or null
  const int64_t *target_integral;  // integral image of the target's map (content-aware), or null
  const int64_t *source_integral;  // integral image of the source's map (saliency weights), or null
  MixDecision decision; // decided on the device
};

/// The decision of each sample; its outputs too unless ContentKernel still changes it.
__global__ void DecideKernel(MixDesc *descs, int n, MixRule rule, bool write_outputs) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  MixDesc &d = descs[i];
  const int py = d.peak ? d.peak[0] : 0, px = d.peak ? d.peak[1] : 0;
  const MixDraw &g = d.governing;
  const MixDecision m = DecideMix(rule, g.lam, g.apply, g.cutmix, g.box_draw, py, px);
  d.decision = m;
  if (write_outputs) WriteMixOutputs(d.io, m);
}

/// Row prefix sums of the maps (blockIdx.y: the map), one warp per row:
/// integral[y + 1][x + 1] = map[y][0] + ... + map[y][x], integral[y + 1][0] = 0 (exact).
__global__ void IntegralRowKernel(const uint8_t *maps, size_t map_pitch, int64_t *integrals,
                                  size_t integral_pitch, int height, int width) {
  RowPrefixSums(maps + blockIdx.y * map_pitch, integrals + blockIdx.y * integral_pitch, height,
                width);
}

/// Column accumulation of the row prefix sums (blockIdx.y: the map), a thread per column, top to
/// bottom, in int64 (exact): integral[0][x] = 0, integral[y + 1][x] += integral[y][x].
__global__ void IntegralColumnKernel(int64_t *integrals, size_t integral_pitch, int height,
                                     int width) {
  ColumnPrefixSums(integrals + blockIdx.y * integral_pitch, height, width);
}

/// ContentKernel's block (it is launched with this many threads, and no other): its reduction
/// halves the block down to one thread, so a power of two.
constexpr int kContentThreads = 256;
static_assert(kContentThreads > 0 && (kContentThreads & (kContentThreads - 1)) == 0,
              "ContentKernel's block reduction needs a power-of-two block");

/// Placement and weight by content of sample blockIdx.x (docs/algorithm.md, "Content-aware
/// placement and label weights"), then its outputs. With target_background the block searches
/// the grid of destinations: each thread its candidates k (ascending, a strict < keeps its
/// first minimum), then a block reduction of (cost, k) that keeps the smallest cost and, among
/// equal costs, the smallest k: the first minimum in row-major order, as the CPU's loop.
__global__ void __launch_bounds__(kContentThreads)
    ContentKernel(MixDesc *descs, int height, int width, bool target_background,
                  bool saliency_weights) {
  MixDesc &d = descs[blockIdx.x];
  MixDecision m = d.decision;
  __syncthreads();  // every thread has read the decision before thread 0 rewrites it
  const bool pasted = m.kind == MixKind::kCutMix && m.box.Area() > 0;
  if (pasted && target_background) {  // uniform over the block
    __shared__ int64_t cost_of[kContentThreads];
    __shared__ int64_t index_of[kContentThreads];
    const int h = m.box.y2 - m.box.y1, w = m.box.x2 - m.box.x1;
    const int64_t count_x = PlacementCount(width, w);
    const int64_t count = PlacementCount(height, h) * count_x;
    int64_t best_cost = INT64_MAX, best_k = INT64_MAX;
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
      Box candidate;
      const int64_t cost =
          PlacementCost(d.target_integral, height, width, h, w, count_x, k, candidate);
      if (cost < best_cost) {
        best_cost = cost;
        best_k = k;
      }
    }
    cost_of[threadIdx.x] = best_cost;
    index_of[threadIdx.x] = best_k;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half >>= 1) {
      if (threadIdx.x < half) {
        const int64_t c = cost_of[threadIdx.x + half], k = index_of[threadIdx.x + half];
        if (c < cost_of[threadIdx.x] || (c == cost_of[threadIdx.x] && k < index_of[threadIdx.x])) {
          cost_of[threadIdx.x] = c;
          index_of[threadIdx.x] = k;
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0)
      PlacementCost(d.target_integral, height, width, h, w, count_x, index_of[0], m.dest);
  }
  if (threadIdx.x != 0) return;
  if (m.kind == MixKind::kCutMix) {
    if (!pasted) {  // nothing is pasted
      if (target_background) m.dest = Box{};
      if (saliency_weights) m.lam = SaliencyLambda(0, 0, 0, m.box, height, width);
    } else if (saliency_weights) {
      const int64_t target_total = BoxSum(d.target_integral, width, 0, 0, height, width);
      const int64_t target_covered =
          BoxSum(d.target_integral, width, m.dest.y1, m.dest.x1, m.dest.y2, m.dest.x2);
      const int64_t source_in =
          BoxSum(d.source_integral, width, m.box.y1, m.box.x1, m.box.y2, m.box.x2);
      m.lam = SaliencyLambda(target_total, target_covered, source_in, m.box, height, width);
    }
  }
  d.decision = m;
  WriteMixOutputs(d.io, m);
}

/// The pixels of sample blockIdx.y: the target, with the source's box pasted at the destination
/// (CutMix) or blended with the source (MixUp). Rows are grid-strided over blockIdx.x, the bytes
/// of a row over the threads: no division per byte.
__global__ void PixelKernel(const MixDesc *descs, int height, int row_bytes, int channels) {
  const MixDesc &d = descs[blockIdx.y];
  const MixKind kind = d.decision.kind;
  const Box box = d.decision.box, dest = d.decision.dest;
  const float lam = d.decision.lam;
  const float rest = __fsub_rn(1.0f, lam);
  const uint8_t *target = d.io.image;
  const uint8_t *source = d.source_image;
  uint8_t *out = d.io.out_image;
  const int dest_lo = dest.x1 * channels, dest_hi = dest.x2 * channels;
  const int shift = (box.x1 - dest.x1) * channels;  // source byte = destination byte + shift
  for (int y = blockIdx.x; y < height; y += gridDim.x) {
    const size_t row = static_cast<size_t>(y) * row_bytes;
    const uint8_t *t = target + row;
    uint8_t *o = out + row;
    if (kind == MixKind::kMixUp) {
      const uint8_t *s = source + row;
      for (int b = threadIdx.x; b < row_bytes; b += blockDim.x)
        o[b] = BlendPixel(t[b], s[b], lam, rest);
    } else if (kind == MixKind::kCutMix && y >= dest.y1 && y < dest.y2) {
      const uint8_t *s = source + static_cast<size_t>(y - dest.y1 + box.y1) * row_bytes;
      for (int b = threadIdx.x; b < row_bytes; b += blockDim.x)
        o[b] = b >= dest_lo && b < dest_hi ? s[b + shift] : t[b];
    } else {
      for (int b = threadIdx.x; b < row_bytes; b += blockDim.x) o[b] = t[b];
    }
  }
}

__global__ void LabelKernel(const MixDesc *descs, int num_classes, float smoothing) {
  const MixDesc &d = descs[blockIdx.y];
  const float lam = d.decision.lam;
  // 64-bit index: num_classes may be up to 2^31 - 1, where a 32-bit stride would wrap.
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < num_classes;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float t = LabelValue(d.io.soft_label, d.io.label_id, static_cast<int>(c));
    const float s = LabelValue(d.source_soft_label, d.source_label_id, static_cast<int>(c));
    d.io.out_label[c] = MixLabel(SmoothLabel(t, smoothing, num_classes),
                                 SmoothLabel(s, smoothing, num_classes), lam);
  }
}

/// Where one run's buffers are: the plan's offsets into the caller's scratch (device) and
/// staging (host) memory.
struct MixBuffers {
  MixDesc *descs;        ///< per-sample descriptors (device)
  MixDesc *host_descs;   ///< their staging copy (host)
  int32_t *peaks;        ///< (y, x) per image (device)
  uint8_t *maps;         ///< the saliency maps, AlignUp(H * W) bytes apart (device)
  uint8_t *saliency;     ///< the saliency kernels' scratch (device)
  int64_t *integrals;    ///< the integral images, in the saliency scratch once the stream is
                         ///< done with it, IntegralBytes apart (device)
  uint8_t *host_saliency;  ///< the saliency kernels' staging (host)
};

MixBuffers BuffersOf(const MixPlanCuda &l, void *scratch, void *staging) {
  auto *base = static_cast<uint8_t *>(scratch);
  auto *host = static_cast<uint8_t *>(staging);
  MixBuffers b;
  b.descs = reinterpret_cast<MixDesc *>(base + l.descs);
  b.host_descs = reinterpret_cast<MixDesc *>(host + l.staging_descs);
  b.peaks = reinterpret_cast<int32_t *>(base + l.peaks);
  b.maps = base + l.maps;
  b.saliency = base + l.saliency;
  b.integrals = reinterpret_cast<int64_t *>(base + l.saliency);
  b.host_saliency = host + l.staging_saliency;
  return b;
}

/// The saliency kernels' samples: the planned images (plan.saliency_images), map k into slot k
/// of the maps, each peak at its image's place, with the pointers of `b` (none when null: for
/// the sizes alone).
std::vector<SaliencySample> SaliencySamples(const MixPlan &plan, const MixSample *samples,
                                            const MixBuffers *b) {
  const MixConfig &c = plan.config;
  const size_t map_bytes = AlignUp(static_cast<size_t>(c.rule.height) * c.rule.width);
  std::vector<SaliencySample> out(plan.saliency_images.size());
  for (size_t k = 0; k < out.size(); ++k) {
    const int j = plan.saliency_images[k];
    out[k] = {nullptr, nullptr, nullptr, c.rule.height, c.rule.width, c.channels};
    if (!b) continue;
    out[k].image = samples[j].image;
    out[k].map = b->maps + map_bytes * k;
    out[k].peak = b->peaks + 2 * static_cast<size_t>(j);
  }
  return out;
}

/// Step 1: the saliency maps and peaks of the images that applied saliency boxes are centred on
/// or whose masses content-aware CutMix reads.
cudaError_t SaliencyStep(const MixPlanCuda &l, const MixSample *samples, const MixBuffers &b,
                         cudaStream_t stream) {
  const std::vector<SaliencySample> saliency = SaliencySamples(l.mix, samples, &b);
  if (saliency.empty()) return cudaSuccess;
  return SaliencyCuda(saliency.data(), static_cast<int>(saliency.size()), false, b.saliency,
                      l.scratch_bytes - l.saliency, b.host_saliency, stream);
}

/// Step 2: the int64 integral images of the maps whose masses are read (slots 0 .. count - 1),
/// in the saliency kernels' scratch, which the stream has finished with.
cudaError_t IntegralStep(const MixPlanCuda &l, const MixBuffers &b, cudaStream_t stream) {
  const MixConfig &c = l.mix.config;
  const size_t map_bytes = AlignUp(static_cast<size_t>(c.rule.height) * c.rule.width);
  const size_t integral_pitch = IntegralBytes(c) / sizeof(int64_t);
  const int num_integrals = static_cast<int>(l.mix.map_images.size());
  for (int first = 0; first < num_integrals; first += kMaxGridY) {
    const int count = std::min(kMaxGridY, num_integrals - first);
    const unsigned row_blocks =
        static_cast<unsigned>(std::clamp((c.rule.height + 7) / 8, 1, 512));
    IntegralRowKernel<<<dim3(row_blocks, count), 256, 0, stream>>>(
        b.maps + map_bytes * first, map_bytes, b.integrals + integral_pitch * first,
        integral_pitch, c.rule.height, c.rule.width);
    DSM_CUDA_TRY(cudaGetLastError());
    const unsigned column_blocks =
        static_cast<unsigned>(std::clamp((c.rule.width + 1 + 255) / 256, 1, 512));
    IntegralColumnKernel<<<dim3(column_blocks, count), 256, 0, stream>>>(
        b.integrals + integral_pitch * first, integral_pitch, c.rule.height, c.rule.width);
    DSM_CUDA_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

/// Step 3 (host): the per-sample descriptors, by the CPU path's rules: the governing draw, the
/// source, the peak, the integral images.
void FillDescs(const MixPlanCuda &l, const MixSample *samples, const MixBuffers &b) {
  const MixConfig &c = l.mix.config;
  const MixDraw *draws = l.mix.draws.data();
  const size_t integral_pitch = IntegralBytes(c) / sizeof(int64_t);
  auto integral_of = [&](int image) -> const int64_t * {
    const int slot = l.mix.map_slot[image];
    return slot < 0 ? nullptr : b.integrals + integral_pitch * static_cast<size_t>(slot);
  };
  for (int i = 0; i < c.num_samples; ++i) {
    const MixDraw draw = GoverningDraw(draws, i, c.rule.mode);
    const MixSample &source = samples[draw.source];
    MixDesc d{};
    d.io = samples[i];
    d.source_image = source.image;
    d.source_soft_label = source.soft_label;
    d.source_label_id = source.label_id;
    d.governing = draw;
    const size_t peak_image = static_cast<size_t>(PeakImage(draws, i, c.rule.mode));
    d.peak = NeedsPeak(c, draw) ? b.peaks + 2 * peak_image : nullptr;
    d.target_integral = NeedsTargetMap(c, draw) ? integral_of(i) : nullptr;
    d.source_integral = NeedsSourceMap(c, draw) ? integral_of(draw.source) : nullptr;
    b.host_descs[i] = d;
  }
}

/// Step 4: the decisions, placed and weighed by content when asked.
cudaError_t DecideStep(const MixConfig &c, MixDesc *descs, cudaStream_t stream) {
  const int n = c.num_samples;
  const bool content = c.ContentAware();
  DecideKernel<<<(n + 127) / 128, 128, 0, stream>>>(descs, n, c.rule, !content);
  DSM_CUDA_TRY(cudaGetLastError());
  if (content) {
    ContentKernel<<<static_cast<unsigned>(n), kContentThreads, 0, stream>>>(
        descs, c.rule.height, c.rule.width, c.target_background, c.saliency_weights);
    DSM_CUDA_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

/// Step 5: the pixels and the labels.
cudaError_t PixelLabelStep(const MixConfig &c, const MixDesc *descs, cudaStream_t stream) {
  const int n = c.num_samples;
  const int row_bytes = c.rule.width * c.channels;  // <= 65,793 * 3
  const unsigned row_blocks = static_cast<unsigned>(std::min(c.rule.height, 4096));
  const unsigned row_threads = row_bytes >= 512 ? 256 : (row_bytes >= 128 ? 128 : 32);
  for (int first = 0; first < n; first += kMaxGridY) {
    const int count = std::min(kMaxGridY, n - first);
    PixelKernel<<<dim3(row_blocks, count), row_threads, 0, stream>>>(
        descs + first, c.rule.height, row_bytes, c.channels);
    DSM_CUDA_TRY(cudaGetLastError());
    // At most 4096 blocks per sample; the kernel's grid-stride loop covers the rest.
    const unsigned label_blocks =
        static_cast<unsigned>(std::min<int64_t>((int64_t{c.num_classes} + 255) / 256, 4096));
    LabelKernel<<<dim3(label_blocks, count), 256, 0, stream>>>(descs + first, c.num_classes,
                                                               c.label_smoothing);
    DSM_CUDA_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

}  // namespace

MixPlanCuda PlanMixCuda(const MixConfig &c, const MixSample *samples) {
  MixPlanCuda l;
  l.mix = PlanMix(c, samples);
  const size_t n = static_cast<size_t>(c.num_samples < 0 ? 0 : c.num_samples);
  const std::vector<SaliencySample> saliency = SaliencySamples(l.mix, nullptr, nullptr);
  const int num_maps = static_cast<int>(saliency.size());
  const size_t pixels = static_cast<size_t>(c.rule.height) * c.rule.width;
  const size_t saliency_bytes = SaliencyCudaScratchBytes(saliency.data(), num_maps);
  const size_t integral_bytes = IntegralBytes(c) * l.mix.map_images.size();
  l.descs = 0;
  l.peaks = AlignUp(sizeof(MixDesc) * n);
  l.maps = l.peaks + AlignUp(sizeof(int32_t) * 2 * n);
  l.saliency = l.maps + AlignUp(pixels) * saliency.size();
  l.scratch_bytes = l.saliency + std::max(saliency_bytes, integral_bytes);
  l.staging_descs = 0;
  l.staging_saliency = AlignUp(sizeof(MixDesc) * n);
  l.staging_bytes = l.staging_saliency + SaliencyCudaStagingBytes(num_maps);
  return l;
}

cudaError_t MixCuda(const MixPlanCuda &l, const MixSample *samples, void *scratch,
                    size_t scratch_bytes, void *staging, size_t staging_bytes,
                    cudaStream_t stream) {
  const MixConfig &c = l.mix.config;
  if (c.num_samples <= 0) return cudaSuccess;
  if (scratch_bytes < l.scratch_bytes || staging_bytes < l.staging_bytes)
    return cudaErrorInvalidValue;
  const MixBuffers b = BuffersOf(l, scratch, staging);
  DSM_CUDA_TRY(SaliencyStep(l, samples, b, stream));
  DSM_CUDA_TRY(IntegralStep(l, b, stream));
  FillDescs(l, samples, b);
  DSM_CUDA_TRY(cudaMemcpyAsync(b.descs, b.host_descs, sizeof(MixDesc) * c.num_samples,
                               cudaMemcpyHostToDevice, stream));
  DSM_CUDA_TRY(DecideStep(c, b.descs, stream));
  return PixelLabelStep(c, b.descs, stream);
}

}  // namespace dsm
