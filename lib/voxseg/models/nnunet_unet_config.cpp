// Converting an nnU-Net configuration (its architecture's arch_kwargs) to voxseg's native U-Net
// config, and nnU-Net's normalization scheme names; parsing the files is in nnunet_plans.cpp.
#include "voxseg/models/nnunet_plans.h"

#include <fmt/format.h>

#include <stdexcept>
#include <string_view>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/models/detail/json_fields.h"
#include "voxseg/models/detail/nnunet_common.h"

namespace voxseg::models::nnunet {
namespace {

using detail::as_bad_model;
using detail::field_error;
using detail::index_field;
using detail::join_field;
using detail::short_name;

std::vector<int64_t> per_stage_ints(const Json& kwargs, std::string_view key, int64_t n_stages,
                                    const std::string& path) {
  const Json& v = detail::require_member(kwargs, key, path);
  if (v.is_number()) return std::vector<int64_t>(size_t(n_stages), detail::read_int(v, join_field(path, key)));
  return detail::read_int_list(v, join_field(path, key));
}

std::vector<std::vector<int64_t>> per_stage_axes(const Json& kwargs, std::string_view key, int64_t n_stages, int dims,
                                                 const std::string& path) {
  const Json& v = detail::require_member(kwargs, key, path);
  const std::string field = join_field(path, key);
  if (v.is_number()) {
    return std::vector<std::vector<int64_t>>(size_t(n_stages),
                                             std::vector<int64_t>(size_t(dims), detail::read_int(v, field)));
  }
  if (!v.is_array()) field_error(field, fmt::format("expected a list per stage, found {}", v.type_name()));
  std::vector<std::vector<int64_t>> out;
  for (size_t s = 0; s < v.size(); ++s) {
    const Json& e = v.as_array()[s];
    if (e.is_number()) {
      out.emplace_back(size_t(dims), detail::read_int(e, index_field(field, s)));
    } else {
      out.push_back(detail::read_int_list(e, index_field(field, s), dims));
    }
  }
  return out;
}

}  // namespace

std::string normalization_for_channel(const std::string& channel_name) {
  switch (preprocess::normalization_for_channel_name(channel_name)) {
    case preprocess::Normalization::CT: return "CTNormalization";
    case preprocess::Normalization::None: return "NoNormalization";
    case preprocess::Normalization::RescaleTo01: return "RescaleTo01Normalization";
    case preprocess::Normalization::RGBTo01: return "RGBTo01Normalization";
    case preprocess::Normalization::ZScore: break;
  }
  return "ZScoreNormalization";
}

UNetConfig to_unet_config(const Configuration& c, const DatasetInfo& dataset) {
  const std::string path = "configurations." + c.name + ".architecture.arch_kwargs";
  return as_bad_model("architecture", c.name, [&] {
    const std::string cls = c.network_short_name();
    if (cls != "PlainConvUNet" && cls != "ResidualEncoderUNet") {
      throw std::invalid_argument(
          fmt::format("network class {} is not supported by voxseg's native U-Net (only PlainConvUNet and "
                      "ResidualEncoderUNet)",
                      c.network_class_name));
    }
    const bool residual = cls == "ResidualEncoderUNet";
    const Json& k = c.arch_kwargs;
    // The keyword arguments of each class's __init__ (dynamic_network_architectures).
    if (residual) {
      detail::reject_unknown_members(
          k,
          {"n_stages", "features_per_stage", "conv_op", "kernel_sizes", "strides", "n_blocks_per_stage",
           "n_conv_per_stage_decoder", "conv_bias", "norm_op", "norm_op_kwargs", "dropout_op", "dropout_op_kwargs",
           "nonlin", "nonlin_kwargs", "deep_supervision", "block", "bottleneck_channels", "stem_channels"},
          path);
    } else {
      detail::reject_unknown_members(
          k,
          {"n_stages", "features_per_stage", "conv_op", "kernel_sizes", "strides", "n_conv_per_stage",
           "n_conv_per_stage_decoder", "conv_bias", "norm_op", "norm_op_kwargs", "dropout_op", "dropout_op_kwargs",
           "nonlin", "nonlin_kwargs", "deep_supervision", "nonlin_first"},
          path);
    }
    UNetConfig u;
    u.dims = c.dims;
    u.encoder = residual ? "residual" : "plain";
    const std::string conv =
        detail::read_string(detail::require_member(k, "conv_op", path), join_field(path, "conv_op"));
    const int conv_dims = short_name(conv) == "Conv3d" ? 3 : short_name(conv) == "Conv2d" ? 2 : 0;
    if (conv_dims == 0) field_error(join_field(path, "conv_op"), "expected Conv2d or Conv3d, found " + conv);
    if (conv_dims != c.dims) {
      field_error(join_field(path, "conv_op"),
                  fmt::format("{} does not match the {}-axis patch_size", short_name(conv), c.dims));
    }
    const int64_t n = detail::read_int(detail::require_member(k, "n_stages", path), join_field(path, "n_stages"));
    if (n < 1 || n > 16) field_error(join_field(path, "n_stages"), fmt::format("expected 1..16, found {}", n));
    u.features_per_stage = per_stage_ints(k, "features_per_stage", n, path);
    u.kernel_sizes = per_stage_axes(k, "kernel_sizes", n, c.dims, path);
    u.strides = per_stage_axes(k, "strides", n, c.dims, path);
    if (residual) {
      u.n_blocks_per_stage = per_stage_ints(k, "n_blocks_per_stage", n, path);
      // block: BasicBlockD (the default, and what the ResEnc presets use); bottleneck_channels is only
      // read by BottleneckD.
      if (const Json* v = k.find("block"); v && !v->is_null()) {
        const std::string block = short_name(detail::read_string(*v, join_field(path, "block")));
        if (block != "BasicBlockD")
          field_error(join_field(path, "block"), "only BasicBlockD is supported, found " + block);
      }
      if (const Json* v = k.find("stem_channels"); v && !v->is_null()) {
        u.stem_channels = detail::read_int(*v, join_field(path, "stem_channels"));
        if (u.stem_channels < 1) field_error(join_field(path, "stem_channels"), "must be at least 1");
      }
    } else {
      u.n_conv_per_stage = per_stage_ints(k, "n_conv_per_stage", n, path);
    }
    u.n_conv_per_stage_decoder = per_stage_ints(k, "n_conv_per_stage_decoder", n - 1, path);
    if (const Json* v = k.find("conv_bias")) u.conv_bias = detail::read_bool(*v, join_field(path, "conv_bias"));
    const Json* norm = k.find("norm_op");
    const std::string norm_name =
        (norm && !norm->is_null()) ? short_name(detail::read_string(*norm, join_field(path, "norm_op"))) : "";
    if (norm_name.empty()) {
      u.norm = "none";
    } else if (norm_name.rfind("InstanceNorm", 0) == 0) {
      u.norm = "instance";
      u.norm_affine = false;  // torch's default for InstanceNorm
    } else if (norm_name.rfind("BatchNorm", 0) == 0) {
      u.norm = "batch";
      u.norm_affine = true;
    } else {
      field_error(join_field(path, "norm_op"), "expected InstanceNorm, BatchNorm or null, found " + norm_name);
    }
    if (const Json* nk = k.find("norm_op_kwargs"); nk && !nk->is_null()) {
      const std::string f = join_field(path, "norm_op_kwargs");
      detail::require_object(*nk, f);
      if (const Json* v = nk->find("eps")) u.norm_eps = detail::read_number(*v, join_field(f, "eps"));
      if (const Json* v = nk->find("affine")) u.norm_affine = detail::read_bool(*v, join_field(f, "affine"));
    }
    const Json* nonlin = k.find("nonlin");
    const std::string nonlin_name =
        (nonlin && !nonlin->is_null()) ? short_name(detail::read_string(*nonlin, join_field(path, "nonlin"))) : "";
    if (nonlin_name == "LeakyReLU") {
      u.negative_slope = 0.01;
      if (const Json* nk = k.find("nonlin_kwargs"); nk && nk->is_object()) {
        if (const Json* v = nk->find("negative_slope")) {
          u.negative_slope = detail::read_number(*v, join_field(path, "nonlin_kwargs.negative_slope"));
        }
      }
    } else if (nonlin_name == "ReLU") {
      u.negative_slope = 0.0;
    } else {
      field_error(join_field(path, "nonlin"),
                  "expected LeakyReLU or ReLU, found " + (nonlin_name.empty() ? std::string("null") : nonlin_name));
    }
    if (const Json* v = k.find("nonlin_first");
        v && !v->is_null() && detail::read_bool(*v, join_field(path, "nonlin_first"))) {
      field_error(join_field(path, "nonlin_first"), "true is not supported (conv -> norm -> nonlin only)");
    }
    if (const Json* v = k.find("dropout_op"); v && !v->is_null()) {
      log::debug("{}: dropout_op is ignored (a no-op at inference)", path);
    }
    u.in_channels = int64_t(dataset.channel_names.size());
    if (c.previous_stage) u.in_channels += int64_t(dataset.foreground_regions().size());  // cascade one-hot
    u.num_classes = dataset.num_segmentation_heads();
    u.deep_supervision = false;
    check_unet_config(u, path);
    return u;
  });
}

}  // namespace voxseg::models::nnunet
