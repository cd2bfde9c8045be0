#include "voxseg/phantom/detail/grid.h"

namespace voxseg::phantom::detail {
namespace {

std::vector<float> gaussian_kernel(double sigma) {
  const int radius = std::max(1, int(std::ceil(3.0 * sigma)));
  std::vector<float> k(size_t(2 * radius + 1));
  double sum = 0.0;
  for (int i = -radius; i <= radius; ++i) sum += std::exp(-0.5 * (i * i) / (sigma * sigma));
  for (int i = -radius; i <= radius; ++i)
    k[size_t(i + radius)] = float(std::exp(-0.5 * (i * i) / (sigma * sigma)) / sum);
  return k;
}

// Convolves `count` lines of length n, element j of line l at base(l) + j * stride.
template <typename Base>
void blur_lines(std::vector<float>& data, int64_t lines, int64_t n, int64_t stride, Base base,
                const std::vector<float>& kernel) {
  const int64_t radius = int64_t(kernel.size() / 2);
  std::vector<float> line(size_t(n + 2 * radius));
  for (int64_t l = 0; l < lines; ++l) {
    const int64_t b = base(l);
    for (int64_t j = 0; j < n + 2 * radius; ++j) {
      const int64_t src = std::clamp<int64_t>(j - radius, 0, n - 1);
      line[size_t(j)] = data[size_t(b + src * stride)];
    }
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      const float* w = &line[size_t(j)];
      for (size_t t = 0; t < kernel.size(); ++t) acc += kernel[t] * w[t];
      data[size_t(b + j * stride)] = acc;
    }
  }
}

}  // namespace

Grid::Grid(const std::array<int64_t, 3>& size, const std::array<double, 3>& spacing)
    : nx(size[0]), ny(size[1]), nz(size[2]), sx(spacing[0]), sy(spacing[1]), sz(spacing[2]) {
  ox = -0.5 * double(nx - 1) * sx;
  oy = -0.5 * double(ny - 1) * sy;
  oz = -0.5 * double(nz - 1) * sz;
}

Geometry Grid::geometry() const {
  Geometry g;
  g.size = {nx, ny, nz};
  g.spacing = {sx, sy, sz};
  g.origin = {ox, oy, oz};
  return g;
}

SmoothField SmoothField::random(Rng& rng, int terms, double freq_lo, double freq_hi, double amplitude) {
  SmoothField f;
  for (int k = 0; k < terms; ++k) {
    // Direction uniform on the sphere from three normals.
    double d[3] = {rng.normal(), rng.normal(), rng.normal()};
    double n = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    if (n < 1e-9) {
      d[0] = 1;
      n = 1;
    }
    const double w = rng.uniform(freq_lo, freq_hi);
    const double phase = rng.uniform(0.0, 6.283185307179586);
    const double amp = amplitude / terms * rng.uniform(0.5, 1.0);
    f.terms_.push_back({w * d[0] / n, w * d[1] / n, w * d[2] / n, phase, amp});
  }
  return f;
}

double SmoothField::max_abs() const {
  double m = 0.0;
  for (const auto& t : terms_) m += std::fabs(t[4]);
  return m;
}

std::array<double, 9> rotation(double a, double b, double c) {
  const double ca = std::cos(a), sa = std::sin(a), cb = std::cos(b), sb = std::sin(b), cc = std::cos(c),
               sc = std::sin(c);
  // Rz(a) * Ry(b) * Rx(c)
  return {ca * cb, ca * sb * sc - sa * cc, ca * sb * cc + sa * sc,
          sa * cb, sa * sb * sc + ca * cc, sa * sb * cc - ca * sc,
          -sb,     cb * sc,                cb * cc};
}

double Blob::level(double x, double y, double z) const {
  const double dx = x - centre[0], dy = y - centre[1], dz = z - centre[2];
  // Into the blob's frame: q = R^T d, then scale by the semi-axes.
  const double qx = (rot[0] * dx + rot[3] * dy + rot[6] * dz) / axes[0];
  const double qy = (rot[1] * dx + rot[4] * dy + rot[7] * dz) / axes[1];
  const double qz = (rot[2] * dx + rot[5] * dy + rot[8] * dz) / axes[2];
  const double r = std::sqrt(qx * qx + qy * qy + qz * qz);
  if (r < 1e-12) return 0.0;
  return r / (1.0 + surface(qx / r, qy / r, qz / r));
}

double Blob::bound() const {
  return std::max({axes[0], axes[1], axes[2]}) * (1.0 + surface.max_abs());
}

void gaussian_blur(std::vector<float>& data, const Grid& g, const std::array<double, 3>& sigma) {
  if (sigma[0] > 0 && g.nx > 1)
    blur_lines(data, g.ny * g.nz, g.nx, 1, [&](int64_t l) { return l * g.nx; }, gaussian_kernel(sigma[0]));
  if (sigma[1] > 0 && g.ny > 1)
    blur_lines(data, g.nx * g.nz, g.ny, g.nx,
               [&](int64_t l) { return (l / g.nx) * g.nx * g.ny + l % g.nx; }, gaussian_kernel(sigma[1]));
  if (sigma[2] > 0 && g.nz > 1)
    blur_lines(data, g.nx * g.ny, g.nz, g.nx * g.ny, [&](int64_t l) { return l; }, gaussian_kernel(sigma[2]));
}

double blur_noise_gain(const std::array<double, 3>& sigma) {
  double gain = 1.0;
  for (const double s : sigma) {
    if (s <= 0) continue;
    double sq = 0.0;
    for (const float k : gaussian_kernel(s)) sq += double(k) * k;
    gain *= std::sqrt(sq);
  }
  return gain;
}

}  // namespace voxseg::phantom::detail
