#include "voxseg/metrics/display_window.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "voxseg/core/error.h"
#include "voxseg/core/intensity_window.h"
#include "voxseg/core/percentile.h"
#include "voxseg/metrics/detail/report_values.h"

namespace voxseg::metrics {
namespace {

constexpr size_t kMaxSamples = size_t(1) << 22;  // ~4 M voxels are plenty for two percentiles

// Finite values, every k-th when there are many, sorted.
std::vector<double> sorted_sample(const float* v, size_t n) {
  const size_t stride = std::max<size_t>(1, (n + kMaxSamples - 1) / kMaxSamples);
  std::vector<double> out;
  out.reserve(n / stride + 1);
  for (size_t i = 0; i < n; i += stride)
    if (std::isfinite(v[i])) out.push_back(double(v[i]));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string DisplayWindow::caption() const {
  return fmt::format("window {}/{} ({}; {})", detail::plain_number(level), detail::plain_number(width), name, reason);
}

void check_report_window(const std::string& spec) {
  if (spec == "auto" || spec == "percentile" || parse_intensity_window(spec)) return;
  fail(ExitCode::Usage,
       "--report-window '{}': expected auto, abdomen, lung, bone, brain, LEVEL,WIDTH (width > 0) or "
       "percentile",
       spec);
}

bool looks_like_ct(const float* values, size_t n) {
  const std::vector<double> s = sorted_sample(values, n);
  if (s.empty()) return false;
  return percentile_sorted(s, 0.005) <= -500 && s.front() >= -3100 && percentile_sorted(s, 0.995) <= 4000;
}

DisplayWindow choose_window(const std::string& spec, const float* values, size_t n, const std::string& modality,
                            const std::string& modality_source) {
  check_report_window(spec);
  DisplayWindow w;
  if (spec != "auto" && spec != "percentile") {
    const auto preset = *parse_intensity_window(spec);
    w.level = preset.level, w.width = preset.width, w.name = preset.name, w.reason = "--report-window";
    return w;
  }
  bool ct = false;
  if (spec == "auto") {
    if (!modality.empty()) {
      ct = modality == "CT";
      w.reason = fmt::format("{} ({})", ct ? "CT" : modality, modality_source);
    } else {
      ct = looks_like_ct(values, n);
      w.reason = ct ? "CT (intensities in HU)" : "not CT (intensity range)";
    }
  } else {
    w.reason = "--report-window";
  }
  if (ct) {
    const auto preset = *parse_intensity_window("abdomen");
    w.level = preset.level, w.width = preset.width, w.name = preset.name;
    return w;
  }
  const std::vector<double> s = sorted_sample(values, n);
  double lo = s.empty() ? 0 : percentile_sorted(s, 0.005), hi = s.empty() ? 1 : percentile_sorted(s, 0.995);
  if (!(hi > lo)) hi = lo + 1;  // a constant image: anything but a zero width
  w.level = (lo + hi) / 2, w.width = hi - lo, w.name = "percentile 0.5-99.5";
  return w;
}

}  // namespace voxseg::metrics
