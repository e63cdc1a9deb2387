/* C API of the dali-saliencymix kernels (no DALI): raw pointers, sizes and a cudaStream_t.
 *
 * Every function returns 0 on success and a non-zero code on failure; dsm_last_error() then
 * returns a message (thread-local, valid until the next call on the same thread). No C++
 * exception leaves these functions: running out of host memory is a failure whose message says
 * "out of memory". Images: uint8, 1 or 3 channels, width at most 65,793, at most 2^31 - 1
 * pixels and at most 2^30 rows (docs/algorithm.md, "Limits"); labels: class ids in
 * [0, num_classes), or soft values that are finite and >= 0 (checked where they are host
 * memory). */
#ifndef DSM_C_API_H_
#define DSM_C_API_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One image of a batch for the CUDA entry point; all pointers are device pointers. */
typedef struct dsm_sample {
  const uint8_t *image; /**< HWC uint8, channels 1 or 3 (RGB), contiguous */
  void *map;            /**< H*W uint8 or float32 output */
  int32_t *peak;        /**< optional [2] int32 (y, x) of the first maximum, or NULL */
  int32_t height;
  int32_t width;
  int32_t channels;
} dsm_sample;

/** Version of this library, e.g. "0.1.0". */
const char *dsm_version(void);
/** CUDA runtime version the library was built with (e.g. 13000), or 0 for a CPU-only build. */
int32_t dsm_cuda_toolkit_version(void);
/** Message of the last failed call on this thread. */
const char *dsm_last_error(void);

/** Saliency map of one host image. `map` is H*W uint8 (k) or, if float_output, float32 (k/255).
 *  `peak_index` (may be NULL) receives the row-major index of the first maximum. */
int32_t dsm_saliency_cpu(const uint8_t *image, int32_t height, int32_t width, int32_t channels,
                         void *map, int32_t float_output, int64_t *peak_index);

/** A batch of the mixing family (docs/algorithm.md, "The mixing family" and "Content-aware
 *  placement and label weights"): N same-size HWC
 *  uint8 images (contiguous, N*H*W*C), their labels, the random draws and the options, and the
 *  outputs. Sample i is the target; sample source[i] its partner (source). */
typedef struct dsm_mix_args {
  const uint8_t *images;     /**< N*H*W*C uint8, channels 1 or 3 */
  int32_t num_samples;       /**< N >= 1 */
  int32_t height;
  int32_t width;
  int32_t channels;
  const int32_t *label_ids;  /**< N class ids in [0, num_classes), or NULL (CUDA: must be NULL) */
  const float *soft_labels;  /**< N*num_classes float32, or NULL; exactly one label array */
  int32_t num_classes;
  float label_smoothing;     /**< timm's, in [0, 1) */
  const int32_t *source;     /**< N: the partner of each sample (pair mode: an involution) */
  const float *lam;          /**< N: sampled target weights in [0, 1] */
  const uint8_t *apply;      /**< N: coin flips (non-zero: mix) */
  const uint8_t *cutmix;     /**< N: 1 CutMix, 0 MixUp; NULL: all CutMix */
  const float *box_draw;     /**< N*4 uniform draws in [0, 1]; needed when random_box or
                                  has_minmax, else may be NULL (and is not read) */
  int32_t mode;              /**< 0 elem, 1 batch, 2 pair: whose draw governs sample i */
  int32_t random_box;        /**< non-zero: timm's random box; 0: centred on the saliency peak */
  int32_t has_minmax;        /**< non-zero: box sides from minmax (timm's cutmix_minmax) */
  double minmax[2];          /**< (min, max), 0 < min < max <= 1, when has_minmax */
  int32_t correct_lam;       /**< CutMix lam = 1 - box area / image area (always with minmax) */
  uint8_t *out_images;       /**< N*H*W*C */
  float *out_labels;         /**< N*num_classes */
  int32_t *out_boxes;        /**< N*4 (y1, x1, y2, x2), or NULL */
  float *out_lam;            /**< N, or NULL */
  int32_t placement;         /**< CutMix patch: 0 source_peak (where it was in the source), 1
                                  target_background (the grid position covering the least target
                                  saliency; docs/algorithm.md) */
  int32_t label_weights;     /**< CutMix weights: 0 area, 1 saliency (by the saliency each image
                                  keeps) */
  int32_t *out_dest_boxes;   /**< N*4 (y1, x1, y2, x2) where the patch went in the target, or
                                  NULL: equal to out_boxes with source_peak; with
                                  target_background zeros when nothing is pasted */
} dsm_mix_args;

/** Mixes a host batch (every pointer a host pointer). Outputs must not overlap the inputs. */
int32_t dsm_mix_cpu(const dsm_mix_args *args);

/** Mixes a device batch on `stream` (a cudaStream_t; NULL = default stream): images, soft
 *  labels (float32, one-hot for class ids; label_ids must be NULL) and outputs are device
 *  memory; the draws (source, lam, apply, cutmix, box_draw) are host arrays. The values of the
 *  device soft labels are not checked. Scratch is allocated stream-ordered from this library's
 *  own memory pool (see below); the descriptor upload comes from pageable memory, which the
 *  driver may stage synchronously. */
int32_t dsm_mix_cuda(const dsm_mix_args *args, void *stream);

/** Saliency maps of a batch of device images on `stream` (a cudaStream_t; NULL = default
 *  stream). Scratch memory is allocated and freed stream-ordered, from a memory pool of this
 *  library's own (see below); the call does not wait for the GPU. */
int32_t dsm_saliency_cuda(const dsm_sample *samples, int32_t num_samples, int32_t float_output,
                          void *stream);

/* The CUDA entry points' scratch memory: one stream-ordered memory pool of this library's own
 * per device, on the device of the call's images (the first sample's for dsm_saliency_cuda;
 * host memory: the current device), created on first use and kept until the process exits. The
 * device's default pool, shared with other libraries, is left alone. Each call frees its
 * scratch stream-ordered when its work is done; the pool keeps up to 256 MiB of freed memory
 * reserved for the next calls (a batch of 256 images of 224 x 224 needs at most about 136 MiB)
 * and gives what is above that back to the driver at the next synchronisation (of a stream, an
 * event or the device). */

#ifdef __cplusplus
}
#endif

#endif /* DSM_C_API_H_ */
