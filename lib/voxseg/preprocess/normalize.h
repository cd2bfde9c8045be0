#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace voxseg::preprocess {

/// nnU-Net v2's intensity normalization schemes (preprocessing/normalization/default_normalization_schemes.py).
enum class Normalization {
  None,         ///< NoNormalization: cast to float32
  CT,           ///< CTNormalization: clip to [lower, upper] (dataset percentiles 0.5/99.5), then (x - mean) / max(std, 1e-8)
  ZScore,       ///< ZScoreNormalization: per-image mean/std; with use_mask only inside the mask (outside unchanged)
  RescaleTo01,  ///< RescaleTo01Normalization: (x - min) / max(max - min, 1e-8)
  RGBTo01,      ///< RGBTo01Normalization: x / 255 (values must be within [0, 255])
};

/// Options for one channel. CT statistics are the dataset's foreground statistics from training.
struct NormalizeOptions {
  Normalization scheme = Normalization::ZScore;
  bool use_mask = false;  ///< ZScore only: statistics and update inside the non-zero mask
  bool fixed_stats = false;  ///< ZScore only: use `mean`/`std` below instead of the image's (not in nnU-Net)
  double mean = 0, std = 1, lower = 0, upper = 0;  ///< CT only
};

/// Accepts nnU-Net's class names ("CTNormalization", ...) and short names ("ct", "zscore", "rescale01",
/// "rgb01", "none"), case-insensitively. Throws std::invalid_argument for anything else.
Normalization parse_normalization(const std::string& name);
std::string normalization_name(Normalization scheme);

/// Normalizes one channel [Z,Y,X] and returns it as a new contiguous float32 tensor. `mask` (bool
/// [Z,Y,X]) is used only by ZScore with use_mask; statistics are computed in double precision.
/// Throws Error(BadInput) for RGBTo01 with values outside [0, 255].
at::Tensor normalize_channel(const at::Tensor& channel, const NormalizeOptions& options,
                             const at::Tensor& mask = at::Tensor());

}  // namespace voxseg::preprocess
