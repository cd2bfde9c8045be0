#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "voxseg/core/volume.h"
#include "voxseg/phantom/detail/random.h"

namespace voxseg::phantom::detail {

/// A voxel grid with a centred origin and identity direction (LPS): physical x = ox + i * sx, ...
/// Buffers are in array order [z][y][x].
struct Grid {
  int64_t nx = 0, ny = 0, nz = 0;
  double sx = 1, sy = 1, sz = 1;  ///< spacing, mm
  double ox = 0, oy = 0, oz = 0;  ///< centre of voxel (0,0,0), mm

  Grid(const std::array<int64_t, 3>& size, const std::array<double, 3>& spacing);
  int64_t count() const { return nx * ny * nz; }
  int64_t index(int64_t x, int64_t y, int64_t z) const { return (z * ny + y) * nx + x; }
  double px(int64_t i) const { return ox + sx * double(i); }
  double py(int64_t j) const { return oy + sy * double(j); }
  double pz(int64_t k) const { return oz + sz * double(k); }
  /// Field of view, mm (extent of all voxels).
  double fov_x() const { return sx * double(nx); }
  double fov_y() const { return sy * double(ny); }
  double fov_z() const { return sz * double(nz); }
  Geometry geometry() const;
};

/// Inclusive voxel range [lo, hi] whose centres lie in the physical interval [a, b] along one axis
/// (empty when lo > hi).
inline std::array<int64_t, 2> voxel_range(double origin, double spacing, int64_t n, double a, double b) {
  const int64_t lo = std::max<int64_t>(0, int64_t(std::ceil((a - origin) / spacing)));
  const int64_t hi = std::min<int64_t>(n - 1, int64_t(std::floor((b - origin) / spacing)));
  return {lo, hi};
}

/// Calls f(index, x, y, z) for every voxel whose centre (physical, mm) lies in the box [lo, hi].
template <typename F>
void for_each_in_box(const Grid& g, const std::array<double, 3>& lo, const std::array<double, 3>& hi, F f) {
  const auto rx = voxel_range(g.ox, g.sx, g.nx, lo[0], hi[0]);
  const auto ry = voxel_range(g.oy, g.sy, g.ny, lo[1], hi[1]);
  const auto rz = voxel_range(g.oz, g.sz, g.nz, lo[2], hi[2]);
  for (int64_t k = rz[0]; k <= rz[1]; ++k)
    for (int64_t j = ry[0]; j <= ry[1]; ++j)
      for (int64_t i = rx[0]; i <= rx[1]; ++i) f(g.index(i, j, k), g.px(i), g.py(j), g.pz(k));
}

/// f(p) = sum_k a_k sin(w_k . p + phi_k): a smooth random field (deformations, textures, bias).
class SmoothField {
 public:
  SmoothField() = default;
  /// `terms` sinusoids with random directions, |w| uniform in [freq_lo, freq_hi] (radians per unit of
  /// the coordinates it will be evaluated on), amplitudes summing to `amplitude` at most.
  static SmoothField random(Rng& rng, int terms, double freq_lo, double freq_hi, double amplitude);
  double operator()(double x, double y, double z) const {
    double f = 0.0;
    for (const auto& t : terms_) f += t[4] * std::sin(t[0] * x + t[1] * y + t[2] * z + t[3]);
    return f;
  }
  /// Value and gradient at p: returns f, writes df/dx, df/dy, df/dz.
  double eval_with_gradient(double x, double y, double z, double grad[3]) const {
    double f = 0.0;
    grad[0] = grad[1] = grad[2] = 0.0;
    for (const auto& t : terms_) {
      const double a = t[0] * x + t[1] * y + t[2] * z + t[3];
      f += t[4] * std::sin(a);
      const double c = t[4] * std::cos(a);
      grad[0] += c * t[0];
      grad[1] += c * t[1];
      grad[2] += c * t[2];
    }
    return f;
  }
  double max_abs() const;

 private:
  std::vector<std::array<double, 5>> terms_;  // wx, wy, wz, phase, amplitude
};

/// Row-major rotation Rz(a) * Ry(b) * Rx(c) (radians); its columns are the blob's axes in LPS.
std::array<double, 9> rotation(double about_z, double about_y, double about_x);

/// A star-shaped, smoothly deformed ellipsoid: inside where level(p) < 1.
struct Blob {
  std::array<double, 3> centre{0, 0, 0};
  std::array<double, 3> axes{1, 1, 1};  ///< semi-axes, same units as centre
  std::array<double, 9> rot{1, 0, 0, 0, 1, 0, 0, 0, 1};
  SmoothField surface;  ///< radial modulation, evaluated on the unit direction in the blob's frame

  /// Normalised radius: 0 at the centre, 1 on the (deformed) surface.
  double level(double x, double y, double z) const;
  /// Half-width of an axis-aligned box that contains the blob.
  double bound() const;
};

/// Separable Gaussian filter in place (edges replicated); sigma in voxels per axis (x, y, z), 0 skips.
void gaussian_blur(std::vector<float>& data, const Grid& grid, const std::array<double, 3>& sigma_vox);

/// Factor by which gaussian_blur with these sigmas scales the standard deviation of white noise.
double blur_noise_gain(const std::array<double, 3>& sigma_vox);

}  // namespace voxseg::phantom::detail
