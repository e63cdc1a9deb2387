/* C API of the dali-saliencymix kernels (no DALI): raw pointers, sizes and a cudaStream_t.
 *
 * Every function returns 0 on success and a non-zero code on failure; dsm_last_error() then
 * returns a message (thread-local, valid until the next call on the same thread). No C++
 * exception leaves these functions: running out of host memory is a failure whose message says
 * "out of memory". Images: uint8, 1 or 3 channels, width at most 65,793 and at most 2^31 - 1
 * pixels (docs/algorithm.md, "Limits"); labels: class ids in [0, num_classes), or soft values
 * that are finite and >= 0 (checked where they are host memory). */
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

/** SaliencyMix of a host batch of N same-size HWC uint8 images (contiguous, N*H*W*C), given
 *  the random draws: source[i] (the pair of sample i), lam[i] (sampled target weight) and
 *  apply[i] (coin flip). batch_mode: one lam, one flip (sample 0's) and one box, from the
 *  saliency peak of source[0], for every pair; else each sample its own (docs/algorithm.md,
 *  "Pairs and modes").
 *  Labels: class ids label_ids[N] (int32), or soft vectors soft_labels[N*num_classes] (float32);
 *  exactly one is non-NULL. Outputs: mixed images (N*H*W*C), soft labels (N*num_classes
 *  float32), boxes (N*4 int32: y1, x1, y2, x2; may be NULL), target weights (N float32; may be
 *  NULL). Outputs must not overlap the inputs. */
int32_t dsm_saliency_mix_cpu(const uint8_t *images, int32_t num_samples, int32_t height,
                             int32_t width, int32_t channels, const int32_t *label_ids,
                             const float *soft_labels, int32_t num_classes,
                             float label_smoothing, const int32_t *source, const float *lam,
                             const uint8_t *apply, int32_t batch_mode, int32_t correct_lam,
                             uint8_t *out_images, float *out_labels, int32_t *out_boxes,
                             float *out_lam);

/** SaliencyMix of a device batch (images N*H*W*C uint8, contiguous) on `stream`. Labels are
 *  device soft vectors soft_labels[N*num_classes] (float32; one-hot for class ids); the draws
 *  source, lam and apply are host arrays of N. Outputs are device buffers: mixed images, soft
 *  labels (N*num_classes), and optionally boxes (N*4 int32) and target weights (N float32).
 *  Outputs must not overlap the inputs. The values of the device soft labels are not checked.
 *  Scratch is allocated stream-ordered from this library's own memory pool; the descriptor
 *  upload comes from pageable memory, which the driver may stage synchronously. */
int32_t dsm_saliency_mix_cuda(const uint8_t *images, int32_t num_samples, int32_t height,
                              int32_t width, int32_t channels, const float *soft_labels,
                              int32_t num_classes, float label_smoothing, const int32_t *source,
                              const float *lam, const uint8_t *apply, int32_t batch_mode,
                              int32_t correct_lam, uint8_t *out_images, float *out_labels,
                              int32_t *out_boxes, float *out_lam, void *stream);

/** Saliency maps of a batch of device images on `stream` (a cudaStream_t; NULL = default
 *  stream). Scratch memory is allocated and freed stream-ordered, from a memory pool of this
 *  library's own (the device's default pool is left alone); the call does not wait for the GPU. */
int32_t dsm_saliency_cuda(const dsm_sample *samples, int32_t num_samples, int32_t float_output,
                          void *stream);

#ifdef __cplusplus
}
#endif

#endif /* DSM_C_API_H_ */
