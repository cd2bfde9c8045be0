#include "voxseg/models/unet_config.h"

#include <fmt/format.h>

#include <algorithm>

#include "voxseg/models/detail/json_fields.h"

namespace voxseg::models {

using detail::field_error;
using detail::index_field;
using detail::join_field;

UNetConfig parse_unet_config(const Json& json, const std::string& path) {
  detail::require_object(json, path);
  detail::reject_unknown_members(
      json,
      {"type", "dims", "encoder", "in_channels", "num_classes", "features_per_stage", "kernel_sizes", "strides",
       "n_conv_per_stage", "n_blocks_per_stage", "stem_channels", "n_conv_per_stage_decoder", "conv_bias", "norm",
       "norm_eps", "norm_affine", "negative_slope", "deep_supervision"},
      path);
  const auto field = [&](std::string_view key) { return join_field(path, key); };
  const auto get = [&](std::string_view key) -> const Json& { return detail::require_member(json, key, path); };

  if (const Json* type = json.find("type")) {
    const std::string t = detail::read_string(*type, field("type"));
    if (t != "unet") field_error(field("type"), fmt::format("expected \"unet\", found \"{}\"", t));
  }
  UNetConfig c;
  const Json& kernels = get("kernel_sizes");
  if (const Json* dims = json.find("dims")) {
    c.dims = int(detail::read_int(*dims, field("dims")));
    if (c.dims != 2 && c.dims != 3) field_error(field("dims"), fmt::format("expected 2 or 3, found {}", c.dims));
  } else {
    if (!kernels.is_array() || kernels.size() == 0 || !kernels.as_array()[0].is_array())
      field_error(field("kernel_sizes"), "expected a list of per-axis lists, one per stage");
    c.dims = int(kernels.as_array()[0].size());
    if (c.dims != 2 && c.dims != 3)
      field_error(index_field(field("kernel_sizes"), 0), fmt::format("expected 2 or 3 axes, found {}", c.dims));
  }
  if (const Json* v = json.find("encoder")) {
    c.encoder = detail::read_string(*v, field("encoder"));
    if (c.encoder != "plain" && c.encoder != "residual")
      field_error(field("encoder"), fmt::format("expected \"plain\" or \"residual\", found \"{}\"", c.encoder));
  }
  c.in_channels = detail::read_int(get("in_channels"), field("in_channels"));
  c.num_classes = detail::read_int(get("num_classes"), field("num_classes"));
  c.features_per_stage = detail::read_int_list(get("features_per_stage"), field("features_per_stage"));
  c.kernel_sizes = json::read_int_lists(kernels, field("kernel_sizes"), c.dims);
  c.strides = json::read_int_lists(get("strides"), field("strides"), c.dims);
  // Each encoder has its own per-stage count; the other one's is refused rather than ignored.
  const char* counts = c.is_residual() ? "n_blocks_per_stage" : "n_conv_per_stage";
  const char* other = c.is_residual() ? "n_conv_per_stage" : "n_blocks_per_stage";
  if (json.find(other))
    field_error(field(other), fmt::format("not used by the {} encoder (it has {})", c.encoder, counts));
  (c.is_residual() ? c.n_blocks_per_stage : c.n_conv_per_stage) = detail::read_int_list(get(counts), field(counts));
  if (const Json* v = json.find("stem_channels")) {
    if (!c.is_residual()) field_error(field("stem_channels"), "only the residual encoder has a stem");
    c.stem_channels = detail::read_int(*v, field("stem_channels"));
    if (c.stem_channels < 1) field_error(field("stem_channels"), "must be at least 1");
  }
  c.n_conv_per_stage_decoder =
      detail::read_int_list(get("n_conv_per_stage_decoder"), field("n_conv_per_stage_decoder"));
  if (const Json* v = json.find("conv_bias")) c.conv_bias = detail::read_bool(*v, field("conv_bias"));
  if (const Json* v = json.find("norm")) c.norm = detail::read_string(*v, field("norm"));
  if (const Json* v = json.find("norm_eps")) c.norm_eps = detail::read_number(*v, field("norm_eps"));
  if (const Json* v = json.find("norm_affine")) c.norm_affine = detail::read_bool(*v, field("norm_affine"));
  if (const Json* v = json.find("negative_slope"))
    c.negative_slope = detail::read_number(*v, field("negative_slope"));
  if (const Json* v = json.find("deep_supervision"))
    c.deep_supervision = detail::read_bool(*v, field("deep_supervision"));
  check_unet_config(c, path);
  return c;
}

void check_unet_config(const UNetConfig& c, const std::string& path) {
  const auto field = [&](std::string_view key) { return join_field(path, key); };
  if (c.dims != 2 && c.dims != 3) field_error(field("dims"), fmt::format("expected 2 or 3, found {}", c.dims));
  if (c.encoder != "plain" && c.encoder != "residual")
    field_error(field("encoder"), fmt::format("expected \"plain\" or \"residual\", found \"{}\"", c.encoder));
  if (c.in_channels < 1) field_error(field("in_channels"), "must be at least 1");
  if (c.num_classes < 1) field_error(field("num_classes"), "must be at least 1");
  const size_t n = c.features_per_stage.size();
  if (n < 1) field_error(field("features_per_stage"), "needs at least one stage");
  for (size_t s = 0; s < n; ++s)
    if (c.features_per_stage[s] < 1) field_error(index_field(field("features_per_stage"), s), "must be at least 1");
  const auto check_stage_count = [&](size_t got, std::string_view key, size_t want) {
    if (got != want)
      field_error(field(key), fmt::format("expected {} entries (features_per_stage has {} stages), found {}", want,
                                          n, got));
  };
  check_stage_count(c.kernel_sizes.size(), "kernel_sizes", n);
  check_stage_count(c.strides.size(), "strides", n);
  const std::vector<int64_t>& counts = c.is_residual() ? c.n_blocks_per_stage : c.n_conv_per_stage;
  const std::string counts_key = c.is_residual() ? "n_blocks_per_stage" : "n_conv_per_stage";
  const std::string other_key = c.is_residual() ? "n_conv_per_stage" : "n_blocks_per_stage";
  if (!(c.is_residual() ? c.n_conv_per_stage : c.n_blocks_per_stage).empty())
    field_error(field(other_key), fmt::format("not used by the {} encoder (it has {})", c.encoder, counts_key));
  if (!c.is_residual() && c.stem_channels != 0)
    field_error(field("stem_channels"), "only the residual encoder has a stem");
  if (c.stem_channels < 0) field_error(field("stem_channels"), "must be at least 1 (or 0: features_per_stage[0])");
  check_stage_count(counts.size(), counts_key, n);
  check_stage_count(c.n_conv_per_stage_decoder.size(), "n_conv_per_stage_decoder", n - 1);
  for (size_t s = 0; s < n; ++s) {
    const std::string kf = index_field(field("kernel_sizes"), s);
    const std::string sf = index_field(field("strides"), s);
    if (int(c.kernel_sizes[s].size()) != c.dims)
      field_error(kf, fmt::format("expected {} axes, found {}", c.dims, c.kernel_sizes[s].size()));
    if (int(c.strides[s].size()) != c.dims)
      field_error(sf, fmt::format("expected {} axes, found {}", c.dims, c.strides[s].size()));
    for (int a = 0; a < c.dims; ++a) {
      const int64_t k = c.kernel_sizes[s][size_t(a)];
      if (k < 1 || k % 2 == 0)
        field_error(index_field(kf, size_t(a)), fmt::format("kernel sizes must be odd and positive, found {}", k));
      if (c.strides[s][size_t(a)] < 1)
        field_error(index_field(sf, size_t(a)), fmt::format("strides must be positive, found {}", c.strides[s][size_t(a)]));
    }
    if (counts[s] < 1) field_error(index_field(field(counts_key), s), "must be at least 1");
  }
  for (size_t s = 0; s + 1 < n; ++s)
    if (c.n_conv_per_stage_decoder[s] < 1)
      field_error(index_field(field("n_conv_per_stage_decoder"), s), "must be at least 1");
  if (c.norm != "instance" && c.norm != "batch" && c.norm != "none")
    field_error(field("norm"), fmt::format("expected \"instance\", \"batch\" or \"none\", found \"{}\"", c.norm));
  if (!(c.norm_eps > 0)) field_error(field("norm_eps"), "must be positive");
  if (!(c.negative_slope >= 0)) field_error(field("negative_slope"), "must not be negative");
}

Json unet_config_to_json(const UNetConfig& c) {
  Json j = Json::object();
  j["type"] = "unet";
  j["dims"] = c.dims;
  if (c.is_residual()) j["encoder"] = c.encoder;
  j["in_channels"] = c.in_channels;
  j["num_classes"] = c.num_classes;
  j["features_per_stage"] = json::array_of(c.features_per_stage);
  j["kernel_sizes"] = json::array_of_arrays(c.kernel_sizes);
  j["strides"] = json::array_of_arrays(c.strides);
  if (c.is_residual()) {
    j["n_blocks_per_stage"] = json::array_of(c.n_blocks_per_stage);
    j["stem_channels"] = c.stem_features();
  } else {
    j["n_conv_per_stage"] = json::array_of(c.n_conv_per_stage);
  }
  j["n_conv_per_stage_decoder"] = json::array_of(c.n_conv_per_stage_decoder);
  j["conv_bias"] = c.conv_bias;
  j["norm"] = c.norm;
  j["norm_eps"] = c.norm_eps;
  j["norm_affine"] = c.norm_affine;
  j["negative_slope"] = c.negative_slope;
  j["deep_supervision"] = c.deep_supervision;
  return j;
}

std::vector<int64_t> total_strides(const UNetConfig& c) {
  std::vector<int64_t> out(size_t(c.dims), 1);
  for (const auto& stage : c.strides)
    for (size_t a = 0; a < out.size() && a < stage.size(); ++a) out[a] *= stage[a];
  return out;
}

UNetConfig make_default_unet_config(int dims, int64_t in_channels, int64_t num_classes, int n_stages,
                                    int64_t base_features, int64_t max_features) {
  UNetConfig c;
  c.dims = dims;
  c.in_channels = in_channels;
  c.num_classes = num_classes;
  for (int s = 0; s < n_stages; ++s) {
    c.features_per_stage.push_back(std::min(max_features, base_features << s));
    c.kernel_sizes.push_back(std::vector<int64_t>(size_t(dims), 3));
    c.strides.push_back(std::vector<int64_t>(size_t(dims), s == 0 ? 1 : 2));
    c.n_conv_per_stage.push_back(2);
    if (s > 0) c.n_conv_per_stage_decoder.push_back(2);
  }
  return c;
}

}  // namespace voxseg::models
