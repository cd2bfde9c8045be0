// Ordering and checking the slices of one DICOM series as a 3D stack, and resampling a stack acquired
// with gantry tilt onto an orthogonal grid.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/io/detail/dicom_slice.h"

namespace voxseg::io::detail {
namespace {

using Vec = std::array<double, 3>;

Vec cross(const Vec& a, const Vec& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double dot(const Vec& a, const Vec& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
Vec position(const Slice& s) { return {s.position[0], s.position[1], s.position[2]}; }

// "9 mm between 'a' and 'b', 13.5 mm between 'c' and 'd'" (at most 6, then "and N more").
std::string list_steps(const std::vector<size_t>& which, const std::vector<double>& steps,
                       const std::vector<Slice>& slices) {
  std::string out;
  for (size_t i = 0; i < which.size() && i < 6; ++i)
    out += fmt::format("{}{:.4g} mm between '{}' and '{}'", i ? ", " : "", steps[which[i]],
                       slices[which[i]].path.filename().string(), slices[which[i] + 1].path.filename().string());
  if (which.size() > 6) out += fmt::format(" and {} more", which.size() - 6);
  return out;
}

// Every step must be within the tolerance of the median step; steps over 1.5x the median are
// missing slices. All offending steps are listed, gaps first.
void check_steps(const std::vector<Slice>& slices, const std::string& name, double tolerance) {
  std::vector<double> steps;
  for (size_t i = 1; i < slices.size(); ++i) steps.push_back(slices[i].along_normal - slices[i - 1].along_normal);
  for (size_t i = 0; i < steps.size(); ++i)
    if (steps[i] < 1e-3)
      fail(ExitCode::BadInput,
           "cannot read '{}': '{}' and '{}' lie at the same position (several volumes in one series, e.g. echoes "
           "or time points?); split the files",
           name, slices[i].path.filename().string(), slices[i + 1].path.filename().string());
  std::vector<double> sorted = steps;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const double median = sorted[sorted.size() / 2];
  std::vector<size_t> gaps, irregular;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i] > 1.5 * median)
      gaps.push_back(i);
    else if (std::abs(steps[i] - median) > tolerance * median)
      irregular.push_back(i);
  }
  const std::string& uid = slices.front().series_uid;
  if (!gaps.empty())
    fail(ExitCode::BadInput, "cannot read '{}': missing slice(s) in series {}: {} where the spacing is {:.4g} mm",
         name, uid, list_steps(gaps, steps, slices), median);
  if (!irregular.empty())
    fail(ExitCode::BadInput,
         "cannot read '{}': non-uniform slice spacing in series {}: {} where the spacing is {:.4g} mm (more than "
         "{:g}% apart)",
         name, uid, list_steps(irregular, steps, slices), median, tolerance * 100);
  const double worst = *std::max_element(steps.begin(), steps.end()) - *std::min_element(steps.begin(), steps.end());
  if (worst > 1e-3) log::debug("series {}: slice steps vary by {:.4g} mm; using the mean spacing", uid, worst);
}

}  // namespace

Stack order_slices(std::vector<Slice>& slices, const std::string& name, const ReadOptions& options) {
  const Slice& first = slices.front();
  for (const auto& s : slices)
    if (s.frames > 1)
      fail(ExitCode::BadInput,
           "cannot read '{}': series {} mixes multi-frame files with others; read the multi-frame file '{}' alone",
           name, first.series_uid, s.path.string());
  if (first.orientation.size() != 6 && slices.size() > 1)
    fail(ExitCode::BadInput, "cannot read '{}': slices have no ImageOrientationPatient; cannot order them", name);
  const std::vector<double> iop =
      first.orientation.size() == 6 ? first.orientation : std::vector<double>{1, 0, 0, 0, 1, 0};
  Stack stack;
  stack.row = {iop[0], iop[1], iop[2]};
  stack.col = {iop[3], iop[4], iop[5]};
  stack.normal = cross(stack.row, stack.col);
  for (const auto& s : slices) {
    if (s.rows != first.rows || s.columns != first.columns)
      fail(ExitCode::BadInput, "cannot read '{}': series {} mixes image sizes ({}x{} and {}x{}); select files of one size",
           name, first.series_uid, first.columns, first.rows, s.columns, s.rows);
    if (slices.size() == 1) continue;
    if (s.orientation.size() != 6)
      fail(ExitCode::BadInput, "cannot read '{}': '{}' has no ImageOrientationPatient", name, s.path.string());
    for (int i = 0; i < 6; ++i)
      if (std::abs(s.orientation[i] - iop[i]) > 1e-3)
        fail(ExitCode::BadInput,
             "cannot read '{}': series {} mixes slice orientations ('{}' and '{}' differ; multi-planar series?); "
             "split the files by orientation",
             name, first.series_uid, first.path.filename().string(), s.path.filename().string());
    if (s.position.size() != 3)
      fail(ExitCode::BadInput, "cannot read '{}': '{}' has no ImagePositionPatient", name, s.path.string());
  }
  for (auto& s : slices) s.along_normal = s.position.size() == 3 ? dot(position(s), stack.normal) : 0.0;
  std::stable_sort(slices.begin(), slices.end(), [](const Slice& a, const Slice& b) {
    return a.along_normal != b.along_normal ? a.along_normal < b.along_normal : a.instance < b.instance;
  });
  stack.spacing = first.thickness > 0 ? first.thickness : 1.0;
  const size_t n = slices.size();
  if (n < 2) return stack;
  check_steps(slices, name, options.slice_spacing_tolerance);
  stack.spacing = (slices.back().along_normal - slices.front().along_normal) / static_cast<double>(n - 1);

  // Gantry tilt: positions advance along the table, not along the slice normal, so each slice is
  // shifted within its plane relative to the previous one. Ignored while the whole drift stays under
  // half a pixel (real series have ~0.01 mm of DS rounding).
  const Slice& front = slices.front();
  const double dx = front.pixel_spacing.size() == 2 && front.pixel_spacing[1] > 0 ? front.pixel_spacing[1] : 1.0;
  const double dy = front.pixel_spacing.size() == 2 && front.pixel_spacing[0] > 0 ? front.pixel_spacing[0] : 1.0;
  const Vec p0 = position(front);
  auto in_plane = [&](const Slice& s) {
    const Vec p = position(s);
    const Vec d{p[0] - p0[0], p[1] - p0[1], p[2] - p0[2]};
    return std::array<double, 2>{dot(d, stack.row), dot(d, stack.col)};
  };
  const auto total = in_plane(slices.back());
  const double drift_mm = std::hypot(total[0], total[1]);
  if (drift_mm <= 0.5 * std::min(dx, dy)) return stack;
  stack.drift_x = total[0] / dx / static_cast<double>(n - 1);
  stack.drift_y = total[1] / dy / static_cast<double>(n - 1);
  for (size_t k = 1; k + 1 < n; ++k) {  // the drift must be linear (one tilt angle), else it is no tilt
    const auto at = in_plane(slices[k]);
    if (std::hypot(at[0] / dx - stack.drift_x * k, at[1] / dy - stack.drift_y * k) > 0.5)
      fail(ExitCode::BadInput,
           "cannot read '{}': the slice positions of series {} do not lie on a line ('{}' is {:.3g} mm off); "
           "cannot order them into a volume",
           name, first.series_uid, slices[k].path.filename().string(),
           std::hypot(at[0] - total[0] * k / (n - 1.0), at[1] - total[1] * k / (n - 1.0)));
  }
  stack.tilt_degrees = std::atan2(drift_mm, slices.back().along_normal - front.along_normal) * 180.0 / M_PI;
  const double per_slice = drift_mm / static_cast<double>(n - 1);
  if (!options.allow_tilt)
    fail(ExitCode::BadInput,
         "cannot read '{}': series {} was acquired with gantry tilt ({:.3g} degrees: each slice is shifted {:.3g} mm "
         "within its plane); --allow-tilt resamples it onto an orthogonal grid",
         name, first.series_uid, stack.tilt_degrees, per_slice);
  log::warn("'{}': series {} has a gantry tilt of {:.3g} degrees; resampled onto an orthogonal grid along the slice "
            "normal (--allow-tilt)",
            name, first.series_uid, stack.tilt_degrees);
  return stack;
}

at::Tensor resample_tilted(const at::Tensor& data, double drift_x, double drift_y) {
  at::Tensor in = data.to(at::kDouble).contiguous();
  const int64_t nz = in.size(0), ny = in.size(1), nx = in.size(2), nc = in.dim() > 3 ? in.size(3) : 1;
  const double fill = in.min().item<double>();
  at::Tensor out = at::full_like(in, fill);
  const double* src = in.data_ptr<double>();
  double* dst = out.data_ptr<double>();
  const double centre = (static_cast<double>(nz) - 1.0) / 2.0;
  for (int64_t k = 0; k < nz; ++k) {
    // Output (x, y) samples the acquired slice at (x + sx, y + sy).
    const double sx = -(static_cast<double>(k) - centre) * drift_x, sy = -(static_cast<double>(k) - centre) * drift_y;
    const double fx0 = std::floor(sx), fy0 = std::floor(sy);
    const double wx = sx - fx0, wy = sy - fy0;
    const int64_t ox = static_cast<int64_t>(fx0), oy = static_cast<int64_t>(fy0);
    const double* slice = src + k * ny * nx * nc;
    double* target = dst + k * ny * nx * nc;
    auto value = [&](int64_t x, int64_t y, int64_t c) {
      return x < 0 || y < 0 || x >= nx || y >= ny ? fill : slice[(y * nx + x) * nc + c];
    };
    for (int64_t y = 0; y < ny; ++y) {
      const int64_t y0 = y + oy;
      if (y0 + 1 < 0 || y0 >= ny) continue;
      for (int64_t x = 0; x < nx; ++x) {
        const int64_t x0 = x + ox;
        if (x0 + 1 < 0 || x0 >= nx) continue;
        for (int64_t c = 0; c < nc; ++c) {
          const double top = (1 - wx) * value(x0, y0, c) + wx * value(x0 + 1, y0, c);
          const double bottom = (1 - wx) * value(x0, y0 + 1, c) + wx * value(x0 + 1, y0 + 1, c);
          target[(y * nx + x) * nc + c] = (1 - wy) * top + wy * bottom;
        }
      }
    }
  }
  if (at::isIntegralType(data.scalar_type(), /*includeBool=*/false)) out = out.round();
  return out.to(data.scalar_type());
}

}  // namespace voxseg::io::detail
