#include "voxseg/refine/intensity.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "voxseg/core/error.h"
#include "voxseg/core/intensity_window.h"

namespace voxseg::refine {

IntensityMapping parse_intensity_mapping(const std::string& text) {
  IntensityMapping m;
  m.name = text;
  if (const auto w = parse_intensity_window(text)) {  // abdomen, lung, bone, brain, LEVEL,WIDTH
    m.kind = IntensityMapping::Kind::Window;
    m.level = w->level;
    m.width = w->width;
    return m;
  }
  if (text == "percentile") return m;
  if (text == "none") {
    m.kind = IntensityMapping::Kind::AsIs;
    return m;
  }
  fail(ExitCode::Usage,
       "--window '{}': expected LEVEL,WIDTH (width > 0), abdomen, lung, bone, brain, percentile or none", text);
}

double percentile_linear(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const double pos = q / 100.0 * double(values.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + long(lo), values.end());
  const double a = values[lo];
  double b = a;
  if (hi != lo) b = *std::min_element(values.begin() + long(lo) + 1, values.end());
  // numpy's lerp: a + (b - a) * t, computed as numpy does for t < 0.5 / t >= 0.5
  const double t = pos - double(lo);
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

at::Tensor to_uint8(const at::Tensor& volume, const IntensityMapping& mapping) {
  const at::Tensor v = volume.cpu().to(at::kDouble).contiguous();
  if (mapping.kind == IntensityMapping::Kind::AsIs) {
    if (v.numel() && (v.min().item<double>() < 0 || v.max().item<double>() > 255))
      fail(ExitCode::BadInput, "intensities outside 0..255 cannot be used as they are; give --window");
    return v.to(at::kByte);
  }
  double lower, upper;
  at::Tensor zero_mask;
  if (mapping.kind == IntensityMapping::Kind::Window) {
    lower = mapping.level - mapping.width / 2;
    upper = mapping.level + mapping.width / 2;
  } else {
    zero_mask = v == 0;
    const at::Tensor nonzero = v.masked_select(v > 0);
    std::vector<double> values(nonzero.data_ptr<double>(), nonzero.data_ptr<double>() + nonzero.numel());
    if (values.empty()) return at::zeros(volume.sizes(), at::kByte);
    lower = percentile_linear(values, 0.5);
    upper = percentile_linear(std::move(values), 99.5);
  }
  at::Tensor clipped = v.clamp(lower, upper);
  const double lo = clipped.min().item<double>(), hi = clipped.max().item<double>();
  at::Tensor scaled = hi > lo ? (clipped - lo) / (hi - lo) * 255.0 : at::zeros_like(clipped);
  if (zero_mask.defined()) scaled.masked_fill_(zero_mask, 0.0);
  return scaled.to(at::kByte);  // truncation, as numpy's astype(uint8)
}

}  // namespace voxseg::refine
