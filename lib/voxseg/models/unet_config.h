#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "voxseg/core/json.h"

namespace voxseg::models {

/// Architecture of a U-Net with the structure and parameter names of nnU-Net v2's networks
/// (dynamic_network_architectures), so nnU-Net weights map one to one: PlainConvUNet (encoder
/// "plain") or ResidualEncoderUNet with BasicBlockD blocks (encoder "residual"); both use the same
/// UNetDecoder. Per-axis values are in array order (z, y, x); 2D nets have two entries per axis list.
struct UNetConfig {
  int dims = 3;
  std::string encoder = "plain";  ///< "plain" (PlainConvUNet) | "residual" (ResidualEncoderUNet)
  int64_t in_channels = 1;
  int64_t num_classes = 2;
  std::vector<int64_t> features_per_stage;        ///< e.g. 32, 64, 128, 256, 320, 320
  std::vector<std::vector<int64_t>> kernel_sizes;  ///< per stage, per axis
  std::vector<std::vector<int64_t>> strides;       ///< per stage, per axis (stage 0 usually all 1)
  std::vector<int64_t> n_conv_per_stage;           ///< plain encoder: convs per stage (empty for residual)
  std::vector<int64_t> n_blocks_per_stage;         ///< residual encoder: BasicBlockD per stage (empty for plain)
  int64_t stem_channels = 0;                       ///< residual encoder: stem conv outputs; 0 = features_per_stage[0]
  std::vector<int64_t> n_conv_per_stage_decoder;   ///< decoder, n_stages - 1 entries
  bool conv_bias = true;
  std::string norm = "instance";  ///< "instance" | "batch" | "none"
  double norm_eps = 1e-5;
  bool norm_affine = true;
  double negative_slope = 0.01;  ///< LeakyReLU
  bool deep_supervision = false;

  int n_stages() const { return int(features_per_stage.size()); }
  bool is_residual() const { return encoder == "residual"; }
  /// Output channels of the residual encoder's stem (stem_channels, or features_per_stage[0] when 0).
  int64_t stem_features() const {
    return stem_channels > 0 ? stem_channels : (features_per_stage.empty() ? 0 : features_per_stage[0]);
  }
};

/// Parses {"type": "unet", ...} (see docs/model-bundles.md); throws std::invalid_argument naming the
/// first bad field (the bundle loader turns it into Error(BadModel) with the file name). Field paths
/// in messages start with `path` ("architecture.kernel_sizes[2]"). "dims" may be omitted (taken from
/// the length of kernel_sizes[0]); unknown fields are errors.
UNetConfig parse_unet_config(const Json& json, const std::string& path = "architecture");
/// {"type": "unet", ...} with every field, in a fixed order. The residual encoder's fields
/// (`encoder`, `n_blocks_per_stage`, `stem_channels`) are written only for a residual encoder, so a
/// plain U-Net's JSON is what it was before they existed.
Json unet_config_to_json(const UNetConfig& config);

/// Checks lengths, ranges and consistency (what PlainConvUNet / ResidualEncoderUNet would assert,
/// plus odd kernels; each encoder's per-stage counts present, the other's absent);
/// throws std::invalid_argument naming the first bad field below `path`.
void check_unet_config(const UNetConfig& config, const std::string& path = "architecture");

/// Product of the strides of all stages, per axis: patch and tile sizes must be multiples of it.
std::vector<int64_t> total_strides(const UNetConfig& config);

/// A PlainConvUNet configured the way nnU-Net's planner does for a patch (for tests and training
/// defaults): `n_stages` stages, features base * 2^s capped at max_features, 3x3(x3) kernels, stride
/// 1 at stage 0 then 2 on every axis, 2 convs per stage.
UNetConfig make_default_unet_config(int dims, int64_t in_channels, int64_t num_classes, int n_stages,
                                    int64_t base_features = 32, int64_t max_features = 320);

}  // namespace voxseg::models
