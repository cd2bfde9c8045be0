#include "voxseg/train/plan.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "voxseg/core/json_fields.h"
#include "voxseg/core/percentile.h"

namespace voxseg::train {
namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

ChannelStats channel_stats(std::vector<float> values) {
  ChannelStats s;
  if (values.empty()) return s;
  std::vector<double> d(values.begin(), values.end());
  std::sort(d.begin(), d.end());
  const double n = double(d.size());
  const double mean = std::accumulate(d.begin(), d.end(), 0.0) / n;
  double var = 0;
  for (double x : d) var += (x - mean) * (x - mean);
  s.mean = mean;
  s.std = std::sqrt(var / n);
  s.median = percentile_sorted(d, 0.5);
  s.min = d.front();
  s.max = d.back();
  s.percentile_00_5 = percentile_sorted(d, 0.005);
  s.percentile_99_5 = percentile_sorted(d, 0.995);
  return s;
}

std::string normalization_scheme_for(const std::string& name) {
  return preprocess::normalization_name(preprocess::normalization_for_channel_name(name));
}

Vec3 target_spacing(const Fingerprint& f) {
  if (f.spacings_mm.empty()) throw std::invalid_argument("fingerprint has no cases");
  Vec3 target{};
  for (int a = 0; a < 3; ++a) {
    std::vector<double> s;
    for (const auto& sp : f.spacings_mm) s.push_back(sp[size_t(a)]);
    target[size_t(a)] = median_of(s);
  }
  if (f.dims == 2) return target;  // z is the slice axis of 2D data: kept as is
  // Median size at the median spacing (for the "thin along the coarse axis" test).
  Vec3 median_size{};
  for (int a = 0; a < 3; ++a) {
    std::vector<double> s;
    for (size_t i = 0; i < f.sizes.size(); ++i)
      s.push_back(double(f.sizes[i][size_t(a)]) * f.spacings_mm[i][size_t(a)] / target[size_t(a)]);
    median_size[size_t(a)] = median_of(s);
  }
  const int worst = int(std::max_element(target.begin(), target.end()) - target.begin());
  double other_min_spacing = 1e300, other_max_spacing = 0, other_min_size = 1e300;
  for (int a = 0; a < 3; ++a) {
    if (a == worst) continue;
    other_min_spacing = std::min(other_min_spacing, target[size_t(a)]);
    other_max_spacing = std::max(other_max_spacing, target[size_t(a)]);
    other_min_size = std::min(other_min_size, median_size[size_t(a)]);
  }
  const bool anisotropic_spacing = target[size_t(worst)] > 3 * other_min_spacing;
  const bool thin = median_size[size_t(worst)] * 3 < other_min_size;
  if (anisotropic_spacing && thin) {
    std::vector<double> s;
    for (const auto& sp : f.spacings_mm) s.push_back(sp[size_t(worst)]);
    std::sort(s.begin(), s.end());
    double t = percentile_sorted(s, 0.1);
    if (t < other_max_spacing) t = std::max(other_max_spacing, t) + 1e-5;
    target[size_t(worst)] = t;
  }
  return target;
}

double estimate_memory_gb(const models::UNetConfig& net, const Size3& patch, int64_t batch) {
  // Activations kept for backward: per conv block conv + norm + nonlinearity outputs (3 tensors);
  // decoder stages add the transposed conv output and the concatenation (3 x features); the
  // segmentation heads are small. Backward roughly doubles the peak. float32.
  double voxels = double(patch[0]) * double(patch[1]) * double(patch[2]);
  double floats = 0;
  for (int s = 0; s < net.n_stages(); ++s) {
    if (s > 0)
      for (size_t a = 0; a < net.strides[size_t(s)].size(); ++a) voxels /= double(net.strides[size_t(s)][a]);
    const double f = double(net.features_per_stage[size_t(s)]);
    const double enc = size_t(s) < net.n_conv_per_stage.size() ? double(net.n_conv_per_stage[size_t(s)]) : 2.0;
    floats += voxels * f * 3 * enc;
    if (s < net.n_stages() - 1) {
      const double dec = size_t(s) < net.n_conv_per_stage_decoder.size() ? double(net.n_conv_per_stage_decoder[size_t(s)]) : 2.0;
      floats += voxels * f * (3 * dec + 3) + voxels * double(net.num_classes);
    }
  }
  return 2.0 * floats * 4.0 * double(batch) / (1024.0 * 1024.0 * 1024.0);
}

models::UNetConfig plan_network(const Size3& patch, const Vec3& spacing_mm, int64_t in_channels, int64_t classes,
                                const PlanOptions& o) {
  models::UNetConfig net;
  net.dims = 3;
  net.in_channels = in_channels;
  net.num_classes = classes;
  net.deep_supervision = true;
  Size3 size = patch;
  Vec3 spacing = spacing_mm;
  const double min0 = *std::min_element(spacing.begin(), spacing.end());
  std::vector<int64_t> kernel0;
  for (int a = 0; a < 3; ++a) kernel0.push_back(spacing[size_t(a)] / min0 < 2 ? 3 : 1);
  net.kernel_sizes.push_back(kernel0);
  net.strides.push_back({1, 1, 1});
  net.features_per_stage.push_back(std::min(o.base_features, o.max_features));
  while (net.n_stages() < o.max_stages) {
    const double min_sp = *std::min_element(spacing.begin(), spacing.end());
    std::vector<int64_t> stride(3, 1);
    bool any = false;
    for (int a = 0; a < 3; ++a) {
      if (spacing[size_t(a)] / min_sp < 2 && size[size_t(a)] >= 2 * o.min_feature_map) {
        stride[size_t(a)] = 2;
        any = true;
      }
    }
    if (!any) break;
    std::vector<int64_t> kernel(3, 3);
    for (int a = 0; a < 3; ++a) {
      if (stride[size_t(a)] == 2) {
        spacing[size_t(a)] *= 2;
        size[size_t(a)] /= 2;
      }
    }
    const double new_min = *std::min_element(spacing.begin(), spacing.end());
    for (int a = 0; a < 3; ++a) kernel[size_t(a)] = spacing[size_t(a)] / new_min < 2 ? 3 : 1;
    net.strides.push_back(stride);
    net.kernel_sizes.push_back(kernel);
    net.features_per_stage.push_back(std::min(net.features_per_stage.back() * 2, o.max_features));
  }
  net.n_conv_per_stage.assign(size_t(net.n_stages()), 2);
  net.n_conv_per_stage_decoder.assign(size_t(net.n_stages() - 1), 2);
  return net;
}

namespace {
Size3 divisors(const models::UNetConfig& net) {
  Size3 d{1, 1, 1};
  for (const auto& s : net.strides)
    for (size_t a = 0; a < 3; ++a) d[a] *= s[a];
  return d;
}
Size3 round_to_divisible(Size3 patch, const Size3& div) {
  for (size_t a = 0; a < 3; ++a) patch[a] = std::max(div[a], patch[a] / div[a] * div[a]);
  return patch;
}
}  // namespace

TrainPlan make_plan(const Fingerprint& f, int64_t num_classes, const PlanOptions& o) {
  if (f.spacings_mm.empty() || f.sizes.size() != f.spacings_mm.size())
    throw std::invalid_argument("fingerprint has no cases");
  TrainPlan plan;
  plan.target_spacing_mm = target_spacing(f);
  const Vec3& t = plan.target_spacing_mm;
  for (int a = 0; a < 3; ++a) {
    std::vector<double> s;
    for (size_t i = 0; i < f.sizes.size(); ++i)
      s.push_back(double(f.sizes[i][size_t(a)]) * f.spacings_mm[i][size_t(a)] / t[size_t(a)]);
    plan.median_size_at_target[size_t(a)] = std::max<int64_t>(1, int64_t(std::llround(median_of(s))));
  }
  const double tmax = *std::max_element(t.begin(), t.end()), tmin = *std::min_element(t.begin(), t.end());
  plan.anisotropic = tmax / tmin > 3;
  plan.lowres_axis = plan.anisotropic ? int(std::max_element(t.begin(), t.end()) - t.begin()) : -1;

  // Initial patch: 256^3 voxels shaped like 1/spacing (same physical extent per axis), clipped to the
  // median image; then shrink the axis with the largest patch/median ratio until memory fits.
  const int64_t in_channels = int64_t(std::max<size_t>(1, f.channel_names.size()));
  Vec3 inv{1 / t[0], 1 / t[1], 1 / t[2]};
  const double scale = std::cbrt(256.0 * 256.0 * 256.0 / (inv[0] * inv[1] * inv[2]));
  Size3 patch{};
  for (size_t a = 0; a < 3; ++a)
    patch[a] = std::min<int64_t>(std::max<int64_t>(1, std::llround(inv[a] * scale)), plan.median_size_at_target[a]);
  if (o.max_patch_voxels_zyx > 0) {
    while (patch[0] * patch[1] * patch[2] > o.max_patch_voxels_zyx) {
      size_t ax = 0;
      for (size_t a = 1; a < 3; ++a) if (patch[a] > patch[ax]) ax = a;
      if (patch[ax] <= 1) break;
      patch[ax] = std::max<int64_t>(1, patch[ax] * 7 / 8);
    }
  }
  models::UNetConfig net = plan_network(patch, t, in_channels, num_classes, o);
  patch = round_to_divisible(patch, divisors(net));
  net = plan_network(patch, t, in_channels, num_classes, o);
  for (int guard = 0; guard < 10000 && estimate_memory_gb(net, patch, o.min_batch) > o.memory_gb; ++guard) {
    size_t ax = 0;
    double worst = -1;
    for (size_t a = 0; a < 3; ++a) {
      const double r = double(patch[a]) / double(plan.median_size_at_target[a]);
      if (patch[a] > 1 && r > worst) worst = r, ax = a;
    }
    const Size3 div = divisors(net);
    const int64_t step = std::max<int64_t>(1, div[ax]);
    if (patch[ax] - step < 1) break;
    patch[ax] -= step;
    net = plan_network(patch, t, in_channels, num_classes, o);
    patch = round_to_divisible(patch, divisors(net));
  }
  plan.patch_size = patch;
  plan.network = net;
  const double per_sample = estimate_memory_gb(net, patch, 1);
  int64_t batch = per_sample > 0 ? int64_t(std::floor(o.memory_gb / per_sample)) : o.max_batch;
  // nnU-Net's cap: one batch should not cover more than 5% of the whole dataset's voxels.
  double dataset_voxels = 0;
  for (size_t i = 0; i < f.sizes.size(); ++i) {
    double v = 1;
    for (size_t a = 0; a < 3; ++a) v *= double(f.sizes[i][a]) * f.spacings_mm[i][a] / t[a];
    dataset_voxels += v;
  }
  const double patch_voxels = double(patch[0] * patch[1] * patch[2]);
  batch = std::min<int64_t>(batch, int64_t(std::floor(0.05 * dataset_voxels / patch_voxels)));
  plan.batch_size = std::clamp<int64_t>(batch, o.min_batch, o.max_batch);
  plan.estimated_memory_gb = estimate_memory_gb(net, patch, plan.batch_size);

  for (size_t c = 0; c < size_t(in_channels); ++c) {
    ChannelNorm n;
    n.scheme = preprocess::normalization_for_channel_name(c < f.channel_names.size() ? f.channel_names[c] : "");
    if (n.scheme == preprocess::Normalization::CT && c < f.channels.size()) n = preprocess::ct_normalization(f.channels[c]);
    plan.normalization.push_back(n);
  }
  plan.mirror_axes = {0, 1, 2};
  return plan;
}

Json fingerprint_to_json(const Fingerprint& f) {
  Json j = Json::object();
  j["dims"] = f.dims;
  j["spacings_mm"] = json::array_of_arrays(f.spacings_mm);
  j["sizes"] = json::array_of_arrays(f.sizes);
  j["channel_names"] = json::array_of(f.channel_names);
  Json ch = Json::array();
  for (const auto& c : f.channels) ch.push_back(preprocess::intensity_properties_to_json(c));
  j["foreground_intensity_properties_per_channel"] = ch;
  return j;
}

Fingerprint fingerprint_from_json(const Json& j, const std::string& path) {
  json::require_object(j, path.empty() ? "(top level)" : path);
  json::reject_unknown_members(
      j, {"dims", "spacings_mm", "sizes", "channel_names", "foreground_intensity_properties_per_channel"}, path);
  const auto field = [&](std::string_view key) { return json::join_field(path, key); };
  const auto get = [&](std::string_view key) -> const Json& { return json::require_member(j, key, path); };
  Fingerprint f;
  f.dims = int(json::read_int(get("dims"), field("dims")));
  const Json& spacings = get("spacings_mm");
  if (!spacings.is_array())
    json::field_error(field("spacings_mm"), fmt::format("expected a list (one entry per case), found {}", spacings.type_name()));
  for (size_t i = 0; i < spacings.size(); ++i) {
    const auto v = json::read_number_list(spacings.as_array()[i], json::index_field(field("spacings_mm"), i), 3);
    f.spacings_mm.push_back({v[0], v[1], v[2]});
  }
  for (const auto& v : json::read_int_lists(get("sizes"), field("sizes"), 3)) f.sizes.push_back({v[0], v[1], v[2]});
  f.channel_names = json::read_string_list(get("channel_names"), field("channel_names"));
  const std::string props = field("foreground_intensity_properties_per_channel");
  const Json& channels = get("foreground_intensity_properties_per_channel");
  if (!channels.is_array()) json::field_error(props, fmt::format("expected a list, found {}", channels.type_name()));
  for (size_t i = 0; i < channels.size(); ++i)
    f.channels.push_back(preprocess::intensity_properties_from_json(channels.as_array()[i], json::index_field(props, i)));
  return f;
}

Json plan_to_json(const TrainPlan& p) {
  Json j = Json::object();
  j["target_spacing_mm"] = json::array_of(p.target_spacing_mm);
  j["median_size_at_target"] = json::array_of(p.median_size_at_target);
  j["patch_size"] = json::array_of(p.patch_size);
  j["batch_size"] = p.batch_size;
  j["anisotropic"] = p.anisotropic;
  j["lowres_axis"] = p.lowres_axis;
  Json norm = Json::array();
  for (const auto& n : p.normalization) norm.push_back(preprocess::normalization_to_json(n));
  j["normalization"] = norm;
  Json net = Json::object();
  net["features_per_stage"] = json::array_of(p.network.features_per_stage);
  net["kernel_sizes"] = json::array_of_arrays(p.network.kernel_sizes);
  net["strides"] = json::array_of_arrays(p.network.strides);
  net["n_conv_per_stage"] = json::array_of(p.network.n_conv_per_stage);
  net["n_conv_per_stage_decoder"] = json::array_of(p.network.n_conv_per_stage_decoder);
  j["network"] = net;
  j["mirror_axes"] = json::array_of(p.mirror_axes);
  j["estimated_memory_gb"] = p.estimated_memory_gb;
  return j;
}

TrainPlan plan_from_json(const Json& j, const std::string& path) {
  using json::field_error;
  json::require_object(j, path.empty() ? "(top level)" : path);
  json::reject_unknown_members(j,
                               {"target_spacing_mm", "median_size_at_target", "patch_size", "batch_size",
                                "anisotropic", "lowres_axis", "normalization", "network", "mirror_axes",
                                "estimated_memory_gb"},
                               path);
  const auto field = [&](std::string_view key) { return json::join_field(path, key); };
  const auto get = [&](std::string_view key) -> const Json& { return json::require_member(j, key, path); };
  const auto opt = [&](std::string_view key) { return json::optional_member(j, key); };
  const auto size3 = [&](const Json& v, std::string_view key) {
    const auto l = json::read_int_list(v, field(key), 3);
    return Size3{l[0], l[1], l[2]};
  };
  TrainPlan p;
  const auto spacing = json::read_number_list(get("target_spacing_mm"), field("target_spacing_mm"), 3);
  std::copy(spacing.begin(), spacing.end(), p.target_spacing_mm.begin());
  if (const Json* v = opt("median_size_at_target")) p.median_size_at_target = size3(*v, "median_size_at_target");
  p.patch_size = size3(get("patch_size"), "patch_size");
  p.batch_size = json::read_int(get("batch_size"), field("batch_size"));
  if (p.batch_size < 1) field_error(field("batch_size"), "must be >= 1");
  for (size_t a = 0; a < 3; ++a) {
    if (p.patch_size[a] < 1) field_error(json::index_field(field("patch_size"), a), "must be positive");
    if (!(p.target_spacing_mm[a] > 0))
      field_error(json::index_field(field("target_spacing_mm"), a), "must be positive");
  }
  if (const Json* v = opt("anisotropic")) p.anisotropic = json::read_bool(*v, field("anisotropic"));
  if (const Json* v = opt("lowres_axis")) p.lowres_axis = int(json::read_int(*v, field("lowres_axis")));
  const Json& norm = get("normalization");
  if (!norm.is_array())
    field_error(field("normalization"), fmt::format("expected a list (one entry per channel), found {}", norm.type_name()));
  for (size_t i = 0; i < norm.size(); ++i)
    p.normalization.push_back(
        preprocess::normalization_from_json(norm.as_array()[i], json::index_field(field("normalization"), i)));

  const std::string net_path = field("network");
  const Json& net = get("network");
  json::require_object(net, net_path);
  json::reject_unknown_members(
      net, {"features_per_stage", "kernel_sizes", "strides", "n_conv_per_stage", "n_conv_per_stage_decoder"}, net_path);
  const auto net_field = [&](std::string_view key) { return json::join_field(net_path, key); };
  const auto net_get = [&](std::string_view key) -> const Json& { return json::require_member(net, key, net_path); };
  p.network.dims = 3;
  p.network.in_channels = int64_t(p.normalization.size());
  p.network.deep_supervision = true;
  p.network.features_per_stage = json::read_int_list(net_get("features_per_stage"), net_field("features_per_stage"));
  p.network.kernel_sizes = json::read_int_lists(net_get("kernel_sizes"), net_field("kernel_sizes"), 3);
  p.network.strides = json::read_int_lists(net_get("strides"), net_field("strides"), 3);
  p.network.n_conv_per_stage = json::read_int_list(net_get("n_conv_per_stage"), net_field("n_conv_per_stage"));
  p.network.n_conv_per_stage_decoder =
      json::read_int_list(net_get("n_conv_per_stage_decoder"), net_field("n_conv_per_stage_decoder"));
  const size_t n = p.network.features_per_stage.size();
  if (n < 1 || p.network.kernel_sizes.size() != n || p.network.strides.size() != n ||
      p.network.n_conv_per_stage.size() != n || p.network.n_conv_per_stage_decoder.size() + 1 != n)
    field_error(net_path, "lists must have one entry per stage (decoder: one fewer)");
  Size3 div{1, 1, 1};
  for (const auto& s : p.network.strides)
    for (size_t a = 0; a < 3; ++a) div[a] *= s[a];
  for (size_t a = 0; a < 3; ++a)
    if (p.patch_size[a] % div[a] != 0)
      field_error(field("patch_size"), fmt::format("must be divisible by the product of the strides per axis ({}, {}, {})",
                                                   div[0], div[1], div[2]));
  if (const Json* m = opt("mirror_axes")) {
    p.mirror_axes.clear();
    for (int64_t a : json::read_int_list(*m, field("mirror_axes"))) p.mirror_axes.push_back(int(a));
  }
  if (const Json* v = opt("estimated_memory_gb"))
    p.estimated_memory_gb = json::read_number(*v, field("estimated_memory_gb"));
  return p;
}

}  // namespace voxseg::train
