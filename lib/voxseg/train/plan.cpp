#include "voxseg/train/plan.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace voxseg::train {
namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Linear interpolation between closest ranks (numpy's default).
double percentile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q / 100.0 * double(sorted.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(sorted.size() - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - double(lo));
}

Json vec_json(const Vec3& v) { return Json(Json::Array{Json(v[0]), Json(v[1]), Json(v[2])}); }
Json size_json(const Size3& v) { return Json(Json::Array{Json(v[0]), Json(v[1]), Json(v[2])}); }

const Json& need(const Json& j, const char* key) {
  const Json* v = j.find(key);
  if (!v) throw std::invalid_argument(std::string("missing field '") + key + "'");
  return *v;
}
Vec3 vec_from(const Json& j, const char* key) {
  const Json& a = need(j, key);
  if (!a.is_array() || a.size() != 3) throw std::invalid_argument(std::string("'") + key + "' must be 3 numbers (z, y, x)");
  Vec3 v{};
  for (size_t i = 0; i < 3; ++i) v[i] = a.as_array()[i].as_double();
  return v;
}
Size3 size_from(const Json& j, const char* key) {
  const Json& a = need(j, key);
  if (!a.is_array() || a.size() != 3) throw std::invalid_argument(std::string("'") + key + "' must be 3 integers (z, y, x)");
  Size3 v{};
  for (size_t i = 0; i < 3; ++i) v[i] = a.as_array()[i].as_int();
  return v;
}
Json int_list(const std::vector<int64_t>& v) {
  Json a = Json::array();
  for (auto x : v) a.push_back(x);
  return a;
}
std::vector<int64_t> int_list_from(const Json& a, const char* what) {
  if (!a.is_array()) throw std::invalid_argument(std::string("'") + what + "' must be a list of integers");
  std::vector<int64_t> v;
  for (const auto& x : a.as_array()) v.push_back(x.as_int());
  return v;
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
  s.median = percentile_sorted(d, 50);
  s.min = d.front();
  s.max = d.back();
  s.p00_5 = percentile_sorted(d, 0.5);
  s.p99_5 = percentile_sorted(d, 99.5);
  return s;
}

std::string normalization_scheme_for(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (lower == "ct") return "ct";
  if (lower == "nonorm") return "none";
  return "zscore";
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
    double t = percentile_sorted(s, 10);
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
    n.scheme = normalization_scheme_for(c < f.channel_names.size() ? f.channel_names[c] : "");
    if (c < f.channels.size()) {
      n.mean = f.channels[c].mean;
      n.std = f.channels[c].std;
      n.lower = f.channels[c].p00_5;
      n.upper = f.channels[c].p99_5;
    }
    plan.normalization.push_back(n);
  }
  plan.mirror_axes = {0, 1, 2};
  return plan;
}

Json fingerprint_to_json(const Fingerprint& f) {
  Json j = Json::object();
  j["dims"] = f.dims;
  Json sp = Json::array(), sz = Json::array();
  for (const auto& s : f.spacings_mm) sp.push_back(vec_json(s));
  for (const auto& s : f.sizes) sz.push_back(size_json(s));
  j["spacings_mm"] = sp;
  j["sizes"] = sz;
  Json names = Json::array();
  for (const auto& n : f.channel_names) names.push_back(n);
  j["channel_names"] = names;
  Json ch = Json::array();
  for (const auto& c : f.channels) {
    Json o = Json::object();
    o["mean"] = c.mean;
    o["std"] = c.std;
    o["median"] = c.median;
    o["min"] = c.min;
    o["max"] = c.max;
    o["percentile_00_5"] = c.p00_5;
    o["percentile_99_5"] = c.p99_5;
    ch.push_back(o);
  }
  j["foreground_intensity_properties_per_channel"] = ch;
  return j;
}

Fingerprint fingerprint_from_json(const Json& j) {
  Fingerprint f;
  f.dims = int(need(j, "dims").as_int());
  for (const auto& s : need(j, "spacings_mm").as_array()) {
    if (s.size() != 3) throw std::invalid_argument("spacings_mm entries must have 3 numbers");
    f.spacings_mm.push_back({s.as_array()[0].as_double(), s.as_array()[1].as_double(), s.as_array()[2].as_double()});
  }
  for (const auto& s : need(j, "sizes").as_array()) {
    if (s.size() != 3) throw std::invalid_argument("sizes entries must have 3 integers");
    f.sizes.push_back({s.as_array()[0].as_int(), s.as_array()[1].as_int(), s.as_array()[2].as_int()});
  }
  for (const auto& n : need(j, "channel_names").as_array()) f.channel_names.push_back(n.as_string());
  for (const auto& c : need(j, "foreground_intensity_properties_per_channel").as_array()) {
    ChannelStats s;
    s.mean = need(c, "mean").as_double();
    s.std = need(c, "std").as_double();
    s.median = need(c, "median").as_double();
    s.min = need(c, "min").as_double();
    s.max = need(c, "max").as_double();
    s.p00_5 = need(c, "percentile_00_5").as_double();
    s.p99_5 = need(c, "percentile_99_5").as_double();
    f.channels.push_back(s);
  }
  return f;
}

Json plan_to_json(const TrainPlan& p) {
  Json j = Json::object();
  j["target_spacing_mm"] = vec_json(p.target_spacing_mm);
  j["median_size_at_target"] = size_json(p.median_size_at_target);
  j["patch_size"] = size_json(p.patch_size);
  j["batch_size"] = p.batch_size;
  j["anisotropic"] = p.anisotropic;
  j["lowres_axis"] = p.lowres_axis;
  Json norm = Json::array();
  for (const auto& n : p.normalization) {
    Json o = Json::object();
    o["scheme"] = n.scheme;
    o["mean"] = n.mean;
    o["std"] = n.std;
    o["lower"] = n.lower;
    o["upper"] = n.upper;
    norm.push_back(o);
  }
  j["normalization"] = norm;
  Json net = Json::object();
  net["features_per_stage"] = int_list(p.network.features_per_stage);
  Json k = Json::array(), s = Json::array();
  for (const auto& v : p.network.kernel_sizes) k.push_back(int_list(v));
  for (const auto& v : p.network.strides) s.push_back(int_list(v));
  net["kernel_sizes"] = k;
  net["strides"] = s;
  net["n_conv_per_stage"] = int_list(p.network.n_conv_per_stage);
  net["n_conv_per_stage_decoder"] = int_list(p.network.n_conv_per_stage_decoder);
  j["network"] = net;
  Json m = Json::array();
  for (int a : p.mirror_axes) m.push_back(a);
  j["mirror_axes"] = m;
  j["estimated_memory_gb"] = p.estimated_memory_gb;
  return j;
}

TrainPlan plan_from_json(const Json& j) {
  TrainPlan p;
  p.target_spacing_mm = vec_from(j, "target_spacing_mm");
  if (j.contains("median_size_at_target")) p.median_size_at_target = size_from(j, "median_size_at_target");
  p.patch_size = size_from(j, "patch_size");
  p.batch_size = need(j, "batch_size").as_int();
  if (p.batch_size < 1) throw std::invalid_argument("batch_size must be >= 1");
  for (int a = 0; a < 3; ++a) {
    if (p.patch_size[size_t(a)] < 1) throw std::invalid_argument("patch_size must be positive");
    if (!(p.target_spacing_mm[size_t(a)] > 0)) throw std::invalid_argument("target_spacing_mm must be positive");
  }
  if (const Json* a = j.find("anisotropic")) p.anisotropic = a->as_bool();
  if (const Json* a = j.find("lowres_axis")) p.lowres_axis = int(a->as_int());
  for (const auto& n : need(j, "normalization").as_array()) {
    ChannelNorm c;
    c.scheme = need(n, "scheme").as_string();
    if (c.scheme != "ct" && c.scheme != "zscore" && c.scheme != "none")
      throw std::invalid_argument("normalization scheme '" + c.scheme + "' (use ct, zscore or none)");
    if (const Json* v = n.find("mean")) c.mean = v->as_double();
    if (const Json* v = n.find("std")) c.std = v->as_double();
    if (const Json* v = n.find("lower")) c.lower = v->as_double();
    if (const Json* v = n.find("upper")) c.upper = v->as_double();
    p.normalization.push_back(c);
  }
  const Json& net = need(j, "network");
  p.network.dims = 3;
  p.network.in_channels = int64_t(p.normalization.size());
  p.network.deep_supervision = true;
  p.network.features_per_stage = int_list_from(need(net, "features_per_stage"), "features_per_stage");
  for (const auto& v : need(net, "kernel_sizes").as_array()) p.network.kernel_sizes.push_back(int_list_from(v, "kernel_sizes"));
  for (const auto& v : need(net, "strides").as_array()) p.network.strides.push_back(int_list_from(v, "strides"));
  p.network.n_conv_per_stage = int_list_from(need(net, "n_conv_per_stage"), "n_conv_per_stage");
  p.network.n_conv_per_stage_decoder = int_list_from(need(net, "n_conv_per_stage_decoder"), "n_conv_per_stage_decoder");
  const size_t n = p.network.features_per_stage.size();
  if (n < 1 || p.network.kernel_sizes.size() != n || p.network.strides.size() != n ||
      p.network.n_conv_per_stage.size() != n || p.network.n_conv_per_stage_decoder.size() + 1 != n)
    throw std::invalid_argument("network lists must have one entry per stage (decoder: one fewer)");
  Size3 div{1, 1, 1};
  for (const auto& s : p.network.strides) {
    if (s.size() != 3) throw std::invalid_argument("strides entries must have 3 integers");
    for (size_t a = 0; a < 3; ++a) div[a] *= s[a];
  }
  for (size_t a = 0; a < 3; ++a)
    if (p.patch_size[a] % div[a] != 0)
      throw std::invalid_argument("patch_size must be divisible by the product of the strides per axis");
  if (const Json* m = j.find("mirror_axes")) {
    p.mirror_axes.clear();
    for (const auto& a : m->as_array()) p.mirror_axes.push_back(int(a.as_int()));
  }
  if (const Json* v = j.find("estimated_memory_gb")) p.estimated_memory_gb = v->as_double();
  return p;
}

}  // namespace voxseg::train
