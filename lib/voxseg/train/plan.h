#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/models/unet_config.h"
#include "voxseg/preprocess/normalize.h"
#include "voxseg/train/dataset.h"

namespace voxseg::train {

using Vec3 = std::array<double, 3>;   ///< per axis, array order (z, y, x)
using Size3 = std::array<int64_t, 3>;  ///< per axis, array order (z, y, x)

/// Intensity statistics of one channel over the foreground voxels of all training cases (the same
/// type as nnU-Net's foreground intensity properties).
using ChannelStats = preprocess::IntensityProperties;

/// What planning needs to know about a dataset (docs/training.md, "Fingerprint").
struct Fingerprint {
  std::vector<Vec3> spacings_mm;  ///< per case, (z, y, x)
  std::vector<Size3> sizes;       ///< per case, (z, y, x) voxels
  std::vector<ChannelStats> channels;
  std::vector<std::string> channel_names;
  int dims = 3;
};

Json fingerprint_to_json(const Fingerprint& f);
/// Throws std::invalid_argument "field '<path>.<key>': ..." for a bad or unknown field.
Fingerprint fingerprint_from_json(const Json& j, const std::string& path = "");

/// Statistics of a sample of foreground intensities (percentiles by linear interpolation).
ChannelStats channel_stats(std::vector<float> values);

/// How one channel is normalized: the one normalization type (preprocess/normalize.h).
using ChannelNorm = preprocess::NormalizeOptions;

/// Knobs of the planner (docs/training.md, "Planning rules").
struct PlanOptions {
  double memory_gb = 4.0;       ///< training memory budget for activations of one batch
  int64_t base_features = 32;   ///< features of the first stage; doubled per stage
  int64_t max_features = 320;
  int max_stages = 6;
  int64_t min_feature_map = 4;  ///< an axis is no longer pooled below this many voxels
  int64_t min_batch = 2;
  int64_t max_batch = 16;
  int64_t max_patch_voxels_zyx = 0;  ///< 0: no extra cap besides memory and data size
};

/// Everything the training run and the bundle need: stored in model.json under "plan" (editable).
struct TrainPlan {
  Vec3 target_spacing_mm{1, 1, 1};
  Size3 median_size_at_target{0, 0, 0};
  Size3 patch_size{0, 0, 0};
  int64_t batch_size = 2;
  bool anisotropic = false;
  int lowres_axis = -1;  ///< axis treated separately when anisotropic, else -1
  std::vector<ChannelNorm> normalization;
  models::UNetConfig network;
  std::vector<int> mirror_axes{0, 1, 2};
  double estimated_memory_gb = 0;
};

/// nnU-Net's target spacing: median spacing per axis; when the coarsest axis is more than 3x the
/// finest and the data are thin along it, that axis uses the 10th percentile of its spacings instead
/// (never finer than the other axes' spacing).
Vec3 target_spacing(const Fingerprint& f);

/// Estimated training memory (GB) of a U-Net configuration for a batch (docs/training.md).
double estimate_memory_gb(const models::UNetConfig& net, const Size3& patch, int64_t batch);

/// Network topology for a patch: pools an axis while it stays >= 2 x min_feature_map and its spacing
/// is at most twice the finest current spacing; returns the config with strides and kernels set.
models::UNetConfig plan_network(const Size3& patch, const Vec3& spacing_mm, int64_t in_channels, int64_t classes,
                                const PlanOptions& options);

/// Runs every planning rule. `num_classes` includes background.
TrainPlan make_plan(const Fingerprint& f, int64_t num_classes, const PlanOptions& options);

Json plan_to_json(const TrainPlan& plan);
/// Strict: unknown keys (misspelt edits) and bad values throw std::invalid_argument
/// "field '<path>.<key>': ..."; `path` is where the plan sits ("training.plan" in model.json).
TrainPlan plan_from_json(const Json& j, const std::string& path = "");

/// Short name of the normalization nnU-Net picks for a channel name
/// (preprocess::normalization_for_channel_name): "CT" (any case) -> "ct", "noNorm" -> "none", ...,
/// anything else -> "zscore".
std::string normalization_scheme_for(const std::string& channel_name);

}  // namespace voxseg::train
