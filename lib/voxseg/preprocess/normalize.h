#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "voxseg/core/json.h"

namespace voxseg::preprocess {

/// nnU-Net v2's intensity normalization schemes (preprocessing/normalization/default_normalization_schemes.py).
enum class Normalization {
  None,         ///< NoNormalization: cast to float32
  CT,           ///< CTNormalization: clip to [lower, upper] (dataset percentiles 0.5/99.5), then (x - mean) / max(std, 1e-8)
  ZScore,       ///< ZScoreNormalization: per-image mean/std; with use_mask only inside the mask (outside unchanged)
  RescaleTo01,  ///< RescaleTo01Normalization: (x - min) / max(max - min, 1e-8)
  RGBTo01,      ///< RGBTo01Normalization: x / 255 (values must be within [0, 255])
};

/// How one input channel is normalized: the one type used by model bundles (channels[].normalization),
/// training plans (plan.normalization[]), nnU-Net plans (converted from normalization_schemes and the
/// foreground intensity properties) and prediction. CT statistics are the dataset's foreground statistics.
struct NormalizeOptions {
  Normalization scheme = Normalization::ZScore;
  bool use_mask = false;  ///< ZScore only: statistics and update inside the non-zero mask
  bool fixed_stats = false;  ///< ZScore only: use `mean`/`std` below instead of the image's (not in nnU-Net)
  double mean = 0, std = 1, lower = 0, upper = 0;  ///< CT (all four); ZScore with fixed_stats (mean, std)
};

/// Foreground intensity statistics of one channel over a training set: nnU-Net's
/// foreground_intensity_properties_per_channel entry, and voxseg's fingerprint (same keys).
struct IntensityProperties {
  double mean = 0, std = 1, median = 0, min = 0, max = 0, percentile_00_5 = 0, percentile_99_5 = 0;
};

/// Accepts nnU-Net's class names ("CTNormalization", ...) and short names ("ct", "zscore", "rescale01",
/// "rgb01", "none"), case-insensitively. Throws std::invalid_argument for anything else.
Normalization parse_normalization(const std::string& name);
/// The short name ("ct", "zscore", "rescale01", "rgb01", "none"): what JSON files hold.
std::string normalization_name(Normalization scheme);

/// The normalization nnU-Net picks for a dataset channel name, case-insensitively: "CT" -> CT,
/// "noNorm" -> None, "zscore" -> ZScore, "rescale_to_0_1" -> RescaleTo01, "rgb_to_0_1" -> RGBTo01,
/// anything else ZScore.
Normalization normalization_for_channel_name(const std::string& channel_name);

/// nnU-Net's CTNormalization from a channel's statistics: clip to [percentile_00_5, percentile_99_5],
/// then (x - mean) / std.
NormalizeOptions ct_normalization(const IntensityProperties& stats);

/// The JSON form of a channel's normalization (docs/model-bundles.md): {"scheme": "ct", "mean": ..,
/// "std": .., "clip_low": .., "clip_high": ..}; z-score adds "mean"/"std" only with fixed_stats and
/// "use_nonzero_mask": true only when set. The one writer, for bundles, training plans and reports.
Json normalization_to_json(const NormalizeOptions& options);
/// The one reader of that form; `path` names the object in messages ("channels[0].normalization").
/// Unknown keys, keys the scheme does not use and bad values throw std::invalid_argument
/// "field '<path>.<key>': ...". Training plans written before this form spelt the clip bounds
/// "lower"/"upper" and recorded statistics for every scheme: such an entry (it has "lower" or "upper")
/// is still read, its statistics used by "ct" only.
NormalizeOptions normalization_from_json(const Json& json, const std::string& path);

/// {"mean", "std", "median", "min", "max", "percentile_00_5", "percentile_99_5"}, in that order.
Json intensity_properties_to_json(const IntensityProperties& stats);
/// All seven keys are required; `reject_unknown` false tolerates extra keys (nnU-Net's files, whose
/// schema is not voxseg's). Throws std::invalid_argument "field '<path>.<key>': ...".
IntensityProperties intensity_properties_from_json(const Json& json, const std::string& path,
                                                   bool reject_unknown = true);

/// Normalizes one channel [Z,Y,X] and returns it as a new contiguous float32 tensor. `mask` (bool
/// [Z,Y,X]) is used only by ZScore with use_mask; statistics are computed in double precision.
/// Throws Error(BadInput) for RGBTo01 with values outside [0, 255].
at::Tensor normalize_channel(const at::Tensor& channel, const NormalizeOptions& options,
                             const at::Tensor& mask = at::Tensor());

/// Every channel of `data` ([C,Z,Y,X], any real type, any strides: e.g. a cropped and transposed
/// view of the input) normalized into one new contiguous float32 [C,Z,Y,X], bit for bit what
/// normalize_channel gives per channel, without a float copy of the input: statistics passes (z-score,
/// rescale) read the source, and one pass per channel converts and writes. `options` has one entry
/// per channel (empty: Normalization::None). Throws as normalize_channel.
at::Tensor normalize_channels(const at::Tensor& data, const std::vector<NormalizeOptions>& options,
                              const at::Tensor& mask = at::Tensor());

}  // namespace voxseg::preprocess
