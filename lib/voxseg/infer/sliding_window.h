#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "voxseg/core/progress.h"
#include "voxseg/models/network.h"

namespace voxseg::infer {

/// Element type of the z-slab logits accumulator ([K, Y, X] per alive slice, about patch_z slices).
/// Float32 sums Gaussian-weighted logits and divides by the summed weights when a slice is final.
/// Float16 halves the slab (nnU-Net also accumulates in float16): it keeps the weighted running mean
/// per voxel (updated in float32, rounded to float16 once per tile; weights stay float32), so no
/// value leaves the logits' range (logits are clamped to float16's +-65504).
/// Auto: Float16 when the float32 slab would exceed kAutoFloat16SlabBytes, else Float32 (exact as before).
enum class Accumulator { Auto, Float32, Float16 };
inline constexpr int64_t kAutoFloat16SlabBytes = int64_t(1) << 30;

/// "auto" | "fp32" | "fp16" (also "float32", "float16"); throws Error(Usage) otherwise.
Accumulator parse_accumulator(const std::string& text);
const char* accumulator_name(Accumulator a);

/// Tiling, blending and test-time augmentation; defaults follow nnU-Net v2 (step 0.5, Gaussian
/// sigma = patch / 8, mirroring on). Per-axis values are in array order of the patch.
struct WindowOptions {
  std::vector<int64_t> patch_size;  ///< 3 entries (3D net) or 2 (2D net, run on every slice of axis 0)
  double step = 0.5;                ///< tile step as a fraction of the patch, in (0, 1]
  int64_t batch_size = 1;           ///< tiles per forward pass
  bool mirror = true;               ///< mirroring TTA over mirror_axes
  /// Mirrored copies of a tile batch run as one forward pass (batch_size x copies tiles); 0 = auto
  /// (mirror_copies_per_forward). 1 runs each mirror as its own pass (the least memory).
  int64_t mirror_batch = 0;
  std::vector<int64_t> mirror_axes{0, 1, 2};  ///< patch axes (0 = first spatial axis of the patch)
  bool gaussian = true;             ///< Gaussian importance weighting (else constant)
  double sigma_scale = 0.125;
  bool stream = true;  ///< finalize slices as soon as no later tile touches them (false: all at the end)
  Accumulator accumulator = Accumulator::Auto;
};

/// Start of each tile along one axis of `extent` voxels (extent >= patch), nnU-Net's rule:
/// n = ceil((extent - patch) / (patch * step)) + 1 tiles, start_i = round(i * (extent - patch) / (n - 1))
/// (round half to even, as numpy); one tile at 0 when extent == patch.
std::vector<int64_t> tile_starts(int64_t extent, int64_t patch, double step);

/// nnU-Net's importance map: a unit impulse at patch // 2 smoothed by a Gaussian of sigma =
/// patch * sigma_scale per axis (scipy gaussian_filter, truncate 4, mode constant), scaled to a peak of
/// 1 (nnU-Net: 10, for fp16), zeros replaced by the smallest non-zero value. float32, shape = patch.
at::Tensor gaussian_importance_map(const std::vector<int64_t>& patch, double sigma_scale = 0.125);

/// Budget of `auto` mirror batching: the forward batch's full-resolution tensors (tiles x max(classes,
/// 32 features) x tile voxels x 4 bytes) stay below this, so a 64^3 tile with few classes runs all 8
/// mirrors at once and a 128^3 tile of an nnU-Net-sized net stays one mirror per pass.
inline constexpr int64_t kAutoMirrorBatchBytes = int64_t(512) << 20;

/// Mirrored copies per forward pass for `combinations` mirror combinations (1 = none) of a batch of
/// `batch_tiles` tiles of `tile_voxels` with `classes` outputs on the network's `device`: `requested`
/// (clamped to 1..combinations) or, for 0 (auto), 1 on the CPU (one batch of 8 copies measured 0.87x
/// the speed of 8 passes at 3x the memory, docs/performance.md) and on a GPU what fits
/// kAutoMirrorBatchBytes, evened out so every pass has about as many copies.
int64_t mirror_copies_per_forward(int64_t requested, int64_t combinations, int64_t batch_tiles, int64_t tile_voxels,
                                  int64_t classes, const std::string& device);

/// Counters of one run.
struct WindowStats {
  int64_t tiles = 0;
  int64_t forward_passes = 0;     ///< network calls (batches x TTA passes x networks / mirror copies per call)
  int64_t mirror_copies = 1;      ///< mirrored copies per network call (mirror_copies_per_forward)
  int64_t voxels_forwarded = 0;   ///< tile voxels fed to the network (all passes)
  double network_seconds = 0;     ///< time inside Network::forward (incl. transfers)
  int64_t max_slices_held = 0;    ///< accumulator slices alive at once (memory bound check)
  Accumulator accumulator = Accumulator::Float32;  ///< what Auto resolved to
  int64_t accumulator_bytes = 0;                   ///< of the alive slices at their most (logits and weights)
  std::vector<int64_t> padded_shape;
};

/// Final logits [K,Y,X] (float32, CPU) of slice `z` along axis 0 of the unpadded input.
using SliceSink = std::function<void(int64_t z, const at::Tensor& logits)>;

/// Runs `networks` (averaged: folds) over float32 `image` [C,Z,Y,X] with centred zero padding to the
/// patch, and hands each slice's blended logits to `sink` in increasing z. With options.stream, a
/// slice is finalized as soon as no later tile touches it, so only ~patch_z slices of [K,Y,X]
/// accumulators are alive. Throws Error(BadInput) for a channel mismatch or an empty image,
/// Error(BadModel) when a network returns an unexpected shape.
WindowStats sliding_window(const at::Tensor& image, const std::vector<std::shared_ptr<models::Network>>& networks,
                           const WindowOptions& options, const SliceSink& sink, Progress progress = {});

/// Convenience: all logits as one float32 tensor [K,Z,Y,X].
at::Tensor sliding_window_logits(const at::Tensor& image, const std::vector<std::shared_ptr<models::Network>>& networks,
                                 const WindowOptions& options, WindowStats* stats = nullptr);

}  // namespace voxseg::infer
