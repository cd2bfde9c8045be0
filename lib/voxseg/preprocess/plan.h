#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/core/volume.h"
#include "voxseg/preprocess/crop.h"
#include "voxseg/preprocess/normalize.h"
#include "voxseg/preprocess/resample.h"

namespace voxseg::preprocess {

/// How a model wants its input prepared, independent of where the model came from (a voxseg bundle,
/// an nnU-Net v2 result folder). Per-axis values are in array order (z, y, x) after transpose_forward.
struct Plan {
  int dims = 3;  ///< 2: the model sees slices along array axis 0 (after transpose); that spacing is kept
  std::array<int, 3> transpose_forward{0, 1, 2};  ///< nnU-Net's transpose_forward (array axes)
  bool crop_to_nonzero = true;                    ///< crop to the non-zero box first (nnU-Net always does)
  std::vector<NormalizeOptions> channels;         ///< one per input channel
  std::vector<double> target_spacing;             ///< empty: keep the input's spacing (no resampling)
  ResampleOptions image_resampling{3, 0, std::nullopt, 3.0};   ///< nnU-Net resampling_fn_data_kwargs
  ResampleOptions logits_resampling{1, 0, std::nullopt, 3.0};  ///< nnU-Net resampling_fn_probabilities_kwargs
};

/// A case ready for the network, plus what is needed to map predictions back to the input grid.
struct Preprocessed {
  at::Tensor data;                         ///< float32 [C,Z,Y,X] in the model's grid (transposed axes)
  std::array<int64_t, 3> shape_before_crop{};  ///< transposed array order
  BoundingBox box;                         ///< crop box in the transposed input grid
  std::array<double, 3> spacing{};         ///< input spacing, transposed array order
  std::array<double, 3> target_spacing{};  ///< spacing of `data`
  std::array<int, 3> resample_orders{};    ///< per-axis orders used (for the record)
};

/// Input spacing of a volume in array order (z, y, x).
std::array<double, 3> array_spacing(const Geometry& geometry);

/// nnU-Net's preprocessing order: transpose, crop to non-zero, normalize each channel (mask = the
/// hole-filled non-zero mask), resample to the target spacing. `image` is [Z,Y,X] or [C,Z,Y,X] with as
/// many channels as plan.channels. Throws Error(BadInput) for a channel-count mismatch.
Preprocessed preprocess_case(const Volume& image, const Plan& plan);

/// The plan as JSON (for reports and provenance).
Json plan_to_json(const Plan& plan);

}  // namespace voxseg::preprocess
