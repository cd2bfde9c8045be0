#include "voxseg/preprocess/normalize.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <string_view>
#include <utility>
#include <stdexcept>

#include <fmt/format.h>

#include "voxseg/core/error.h"
#include "voxseg/core/json_fields.h"

namespace voxseg::preprocess {
namespace {

// A [Z,Y,X] view of one channel: sizes and element strides.
struct View3 {
  int64_t nz, ny, nx, sz, sy, sx;
  int64_t count() const { return nz * ny * nx; }
};

// f(i, v) for every voxel in C order, sequentially (statistics: the summation order of normalize_channel's
// loops over its contiguous copy); i is the voxel's index in that order, v its value as float32.
template <typename T, typename F>
void scan(const T* p, const View3& w, F&& f) {
  int64_t i = 0;
  for (int64_t z = 0; z < w.nz; ++z)
    for (int64_t y = 0; y < w.ny; ++y) {
      const T* row = p + z * w.sz + y * w.sy;
      for (int64_t x = 0; x < w.nx; ++x) f(i++, static_cast<float>(row[x * w.sx]));
    }
}

// out[i] = f(i, v) for every voxel, slices in parallel (element-wise, so any split gives the same bytes).
template <typename T, typename F>
void write(const T* p, const View3& w, float* out, F&& f) {
  const int64_t slice = w.ny * w.nx;
  at::parallel_for(0, w.nz, std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(slice, 1)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t z = begin; z < end; ++z)
                       for (int64_t y = 0; y < w.ny; ++y) {
                         const T* row = p + z * w.sz + y * w.sy;
                         const int64_t i0 = (z * w.ny + y) * w.nx;
                         for (int64_t x = 0; x < w.nx; ++x) out[i0 + x] = f(i0 + x, static_cast<float>(row[x * w.sx]));
                       }
                   });
}

// One channel: the arithmetic of normalize_channel, reading the source view directly.
template <typename T>
void normalize_view(const T* p, const View3& w, const NormalizeOptions& o, const bool* m, float* out) {
  const int64_t n = w.count();
  switch (o.scheme) {
    case Normalization::None:
      write(p, w, out, [](int64_t, float v) { return v; });
      return;
    case Normalization::CT: {
      const float lo = float(o.lower), hi = float(o.upper), mean = float(o.mean);
      const float sd = float(std::max(o.std, 1e-8));
      write(p, w, out, [&](int64_t, float v) { return (std::min(std::max(v, lo), hi) - mean) / sd; });
      return;
    }
    case Normalization::ZScore: {
      double mean = o.mean, sd = std::max(o.std, 1e-8);
      if (!o.fixed_stats) {
        double sum = 0, count = 0;
        scan(p, w, [&](int64_t i, float v) {
          if (!m || m[i]) sum += v, count += 1;
        });
        if (count == 0) {
          write(p, w, out, [](int64_t, float v) { return v; });
          return;
        }
        mean = sum / count;
        double ss = 0;
        scan(p, w, [&](int64_t i, float v) {
          if (!m || m[i]) ss += (v - mean) * (v - mean);
        });
        sd = std::max(std::sqrt(ss / count), 1e-8);
      }
      write(p, w, out, [&](int64_t i, float v) { return !m || m[i] ? float((v - mean) / sd) : v; });
      return;
    }
    case Normalization::RescaleTo01: {
      if (n == 0) return;
      // std::min_element / std::max_element's comparisons, on the values normalize_channel sees.
      float mn = 0, mx = 0;
      scan(p, w, [&](int64_t i, float v) {
        if (i == 0 || v < mn) mn = v;
      });
      scan(p, w, [&](int64_t i, float v) {
        const float d = v - mn;
        if (i == 0 || mx < d) mx = d;
      });
      mx = std::max(mx, 1e-8f);
      write(p, w, out, [&](int64_t, float v) { return (v - mn) / mx; });
      return;
    }
    case Normalization::RGBTo01: {
      scan(p, w, [&](int64_t, float v) {
        if (v < 0 || v > 255) fail(ExitCode::BadInput, "RGB normalization needs values in [0, 255], found {}", v);
      });
      write(p, w, out, [](int64_t, float v) { return float(double(v) / 255.0); });
      return;
    }
  }
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Normalization parse_normalization(const std::string& name) {
  const std::string n = lower(name);
  if (n == "ct" || n == "ctnormalization") return Normalization::CT;
  if (n == "zscore" || n == "z-score" || n == "zscorenormalization") return Normalization::ZScore;
  if (n == "rescale01" || n == "rescaleto01" || n == "rescaleto01normalization") return Normalization::RescaleTo01;
  if (n == "rgb01" || n == "rgbto01" || n == "rgbto01normalization") return Normalization::RGBTo01;
  if (n == "none" || n == "nonormalization") return Normalization::None;
  throw std::invalid_argument("unknown normalization '" + name + "' (ct, zscore, rescale01, rgb01, none)");
}

std::string normalization_name(Normalization scheme) {
  switch (scheme) {
    case Normalization::None: return "none";
    case Normalization::CT: return "ct";
    case Normalization::ZScore: return "zscore";
    case Normalization::RescaleTo01: return "rescale01";
    case Normalization::RGBTo01: return "rgb01";
  }
  return "?";
}

Normalization normalization_for_channel_name(const std::string& channel_name) {
  const std::string key = lower(channel_name);
  if (key == "ct") return Normalization::CT;
  if (key == "nonorm") return Normalization::None;
  if (key == "rescale_to_0_1") return Normalization::RescaleTo01;
  if (key == "rgb_to_0_1") return Normalization::RGBTo01;
  return Normalization::ZScore;
}

NormalizeOptions ct_normalization(const IntensityProperties& stats) {
  NormalizeOptions o;
  o.scheme = Normalization::CT;
  o.mean = stats.mean;
  o.std = stats.std;
  o.lower = stats.percentile_00_5;
  o.upper = stats.percentile_99_5;
  return o;
}

Json normalization_to_json(const NormalizeOptions& o) {
  Json j = Json::object();
  j["scheme"] = normalization_name(o.scheme);
  if (o.scheme == Normalization::CT || (o.scheme == Normalization::ZScore && o.fixed_stats)) {
    j["mean"] = o.mean;
    j["std"] = o.std;
  }
  if (o.scheme == Normalization::CT) {
    j["clip_low"] = o.lower;
    j["clip_high"] = o.upper;
  }
  if (o.use_mask) j["use_nonzero_mask"] = true;
  return j;
}

NormalizeOptions normalization_from_json(const Json& j, const std::string& path) {
  using json::field_error;
  json::require_object(j, path);
  json::reject_unknown_members(
      j, {"scheme", "mean", "std", "clip_low", "clip_high", "use_nonzero_mask", "lower", "upper"}, path);
  const auto field = [&](std::string_view key) { return json::join_field(path, key); };
  const std::string name = json::read_string(json::require_member(j, "scheme", path), field("scheme"));
  NormalizeOptions o;
  if (name == "ct") o.scheme = Normalization::CT;
  else if (name == "zscore") o.scheme = Normalization::ZScore;
  else if (name == "rescale01") o.scheme = Normalization::RescaleTo01;
  else if (name == "rgb01") o.scheme = Normalization::RGBTo01;
  else if (name == "none") o.scheme = Normalization::None;
  else
    field_error(field("scheme"),
                fmt::format("expected \"ct\", \"zscore\", \"rescale01\", \"rgb01\" or \"none\", found \"{}\"", name));
  if (const Json* v = json::optional_member(j, "use_nonzero_mask"))
    o.use_mask = json::read_bool(*v, field("use_nonzero_mask"));

  // Old training plans: "lower"/"upper" for the clip bounds, statistics written for every scheme.
  const bool legacy = json::optional_member(j, "lower") || json::optional_member(j, "upper");
  const char* low_key = legacy ? "lower" : "clip_low";
  const char* high_key = legacy ? "upper" : "clip_high";
  if (legacy)
    for (const char* key : {"clip_low", "clip_high"})
      if (json::optional_member(j, key))
        field_error(field(key), "mixes clip_low/clip_high with the old spelling lower/upper; use clip_low and clip_high");
  const auto number = [&](std::string_view key) -> std::optional<double> {
    if (const Json* v = json::optional_member(j, key)) return json::read_number(*v, field(key));
    return std::nullopt;
  };
  const auto mean = number("mean"), std = number("std"), low = number(low_key), high = number(high_key);
  if (o.scheme == Normalization::CT) {
    for (const auto& [key, value] : {std::pair{"mean", mean}, {"std", std}, {low_key, low}, {high_key, high}})
      if (!value) field_error(field(key), "required for the \"ct\" scheme (dataset foreground statistics)");
    if (!legacy && !(*std > 0)) field_error(field("std"), "must be positive");
    if (*low > *high) field_error(field(high_key), fmt::format("must not be below {}", low_key));
    o.mean = *mean, o.std = *std, o.lower = *low, o.upper = *high;
    return o;
  }
  if (legacy) return o;  // the statistics an old plan recorded are not used by this scheme
  if (o.scheme == Normalization::ZScore && (mean || std)) {
    if (mean.has_value() != std.has_value()) field_error(field(mean ? "std" : "mean"), "mean and std must be given together");
    if (!(*std > 0)) field_error(field("std"), "must be positive");
    o.fixed_stats = true;
    o.mean = *mean, o.std = *std;
  }
  for (const char* key : {"mean", "std", "clip_low", "clip_high"}) {
    const bool used = o.scheme == Normalization::ZScore && (key[0] == 'm' || key[0] == 's');  // mean, std
    if (!used && json::optional_member(j, key))
      field_error(field(key), fmt::format("not used by the \"{}\" scheme", name));
  }
  return o;
}

Json intensity_properties_to_json(const IntensityProperties& s) {
  Json j = Json::object();
  j["mean"] = s.mean;
  j["std"] = s.std;
  j["median"] = s.median;
  j["min"] = s.min;
  j["max"] = s.max;
  j["percentile_00_5"] = s.percentile_00_5;
  j["percentile_99_5"] = s.percentile_99_5;
  return j;
}

IntensityProperties intensity_properties_from_json(const Json& j, const std::string& path, bool reject_unknown) {
  json::require_object(j, path);
  if (reject_unknown)
    json::reject_unknown_members(j, {"mean", "std", "median", "min", "max", "percentile_00_5", "percentile_99_5"},
                                 path);
  IntensityProperties s;
  const std::pair<const char*, double*> fields[] = {
      {"mean", &s.mean}, {"std", &s.std}, {"median", &s.median}, {"min", &s.min}, {"max", &s.max},
      {"percentile_00_5", &s.percentile_00_5}, {"percentile_99_5", &s.percentile_99_5}};
  for (const auto& [key, target] : fields)
    *target = json::read_number(json::require_member(j, key, path), json::join_field(path, key));
  return s;
}

at::Tensor normalize_channel(const at::Tensor& channel, const NormalizeOptions& o, const at::Tensor& mask) {
  at::Tensor out = channel.to(at::kFloat).contiguous().clone();
  float* v = out.data_ptr<float>();
  const int64_t n = out.numel();
  switch (o.scheme) {
    case Normalization::None: return out;
    case Normalization::CT: {
      const float lo = float(o.lower), hi = float(o.upper), mean = float(o.mean);
      const float sd = float(std::max(o.std, 1e-8));
      for (int64_t i = 0; i < n; ++i) v[i] = (std::min(std::max(v[i], lo), hi) - mean) / sd;
      return out;
    }
    case Normalization::ZScore: {
      const bool* m = nullptr;
      at::Tensor mc;
      if (o.use_mask) {
        if (!mask.defined() || mask.sizes() != out.sizes())
          fail(ExitCode::Internal, "z-score within a mask needs a mask of the channel's shape");
        mc = mask.to(at::kBool).contiguous();
        m = mc.data_ptr<bool>();
      }
      double mean = o.mean, sd = std::max(o.std, 1e-8);
      if (!o.fixed_stats) {
        double sum = 0, count = 0;
        for (int64_t i = 0; i < n; ++i)
          if (!m || m[i]) sum += v[i], count += 1;
        if (count == 0) return out;
        mean = sum / count;
        double ss = 0;
        for (int64_t i = 0; i < n; ++i)
          if (!m || m[i]) ss += (v[i] - mean) * (v[i] - mean);
        sd = std::max(std::sqrt(ss / count), 1e-8);  // population std, as numpy's default
      }
      for (int64_t i = 0; i < n; ++i)
        if (!m || m[i]) v[i] = float((v[i] - mean) / sd);
      return out;
    }
    case Normalization::RescaleTo01: {
      if (n == 0) return out;
      const float mn = *std::min_element(v, v + n);
      for (int64_t i = 0; i < n; ++i) v[i] -= mn;
      const float mx = std::max(*std::max_element(v, v + n), 1e-8f);
      for (int64_t i = 0; i < n; ++i) v[i] /= mx;
      return out;
    }
    case Normalization::RGBTo01: {
      for (int64_t i = 0; i < n; ++i) {
        if (v[i] < 0 || v[i] > 255)
          fail(ExitCode::BadInput, "RGB normalization needs values in [0, 255], found {}", v[i]);
        v[i] = float(double(v[i]) / 255.0);
      }
      return out;
    }
  }
  return out;
}

at::Tensor normalize_channels(const at::Tensor& data, const std::vector<NormalizeOptions>& options,
                              const at::Tensor& mask) {
  if (data.dim() != 4) fail(ExitCode::Internal, "normalize_channels expects [C,Z,Y,X], got {} dims", data.dim());
  if (!options.empty() && int64_t(options.size()) != data.size(0))
    fail(ExitCode::Internal, "normalize_channels: {} options for {} channels", options.size(), data.size(0));
  at::Tensor source = data;
  if (!at::isFloatingType(source.scalar_type()) && !at::isIntegralType(source.scalar_type(), /*includeBool=*/false))
    source = source.to(at::kFloat);  // bool, half, ...: what normalize_channel's cast would give
  else if (at::isFloatingType(source.scalar_type()) && source.scalar_type() != at::kFloat &&
           source.scalar_type() != at::kDouble)
    source = source.to(at::kFloat);
  at::Tensor out = at::empty(source.sizes(), source.options().dtype(at::kFloat));
  const View3 w{source.size(1), source.size(2), source.size(3), source.stride(1), source.stride(2), source.stride(3)};
  at::Tensor mc;
  for (int64_t c = 0; c < source.size(0); ++c) {
    const NormalizeOptions o = options.empty() ? NormalizeOptions{Normalization::None} : options[size_t(c)];
    const bool* m = nullptr;
    if (o.scheme == Normalization::ZScore && o.use_mask) {
      if (!mask.defined() || mask.dim() != 3 || mask.size(0) != w.nz || mask.size(1) != w.ny || mask.size(2) != w.nx)
        fail(ExitCode::Internal, "z-score within a mask needs a mask of the channel's shape");
      if (!mc.defined()) mc = mask.to(at::kBool).contiguous();
      m = mc.data_ptr<bool>();
    }
    float* dst = out.data_ptr<float>() + c * w.count();
    AT_DISPATCH_ALL_TYPES(source.scalar_type(), "normalize_channels", [&] {
      normalize_view(source.data_ptr<scalar_t>() + c * source.stride(0), w, o, m, dst);
    });
  }
  return out;
}

}  // namespace voxseg::preprocess
