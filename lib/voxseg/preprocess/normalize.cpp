#include "voxseg/preprocess/normalize.h"

#include <ATen/ops/empty.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

#include "voxseg/core/error.h"

namespace voxseg::preprocess {
namespace {

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

}  // namespace voxseg::preprocess
