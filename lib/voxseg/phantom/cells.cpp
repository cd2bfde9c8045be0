// Synthetic 3D fluorescence image of stained nuclei: ellipsoidal nuclei, many in contact, with
// chromatin texture and dark nucleoli, imaged through an anisotropic Gaussian PSF with out-of-focus
// haze, then Poisson shot noise, camera offset and read noise. Units are micrometres throughout
// (the grid's spacing values are read as um).
#include <cmath>

#include "voxseg/phantom/detail/generators.h"

namespace voxseg::phantom::detail {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kPeakPhotons = 220.0;   // brightest nucleus, photons per voxel above background
constexpr double kAutofluorescence = 6.0;
constexpr double kCameraOffset = 100.0;
constexpr double kReadNoise = 2.0;
constexpr double kPsfSigmaXY = 0.45, kPsfSigmaZ = 1.3;  // um

struct Nucleus {
  Blob shape;
  double brightness = 1.0;
  std::array<double, 3> nucleolus{0, 0, 0};
  double radius = 5.0;  // mean semi-axis
};

}  // namespace

RawPhantom generate_cells(const PhantomOptions& options, const Grid& g) {
  Rng rng(options.seed, "cells/anatomy");
  const std::array<double, 3> half{0.5 * g.fov_x(), 0.5 * g.fov_y(), 0.5 * g.fov_z()};
  // Nucleus size follows the field of view when it is small, so tiny test volumes still hold cells.
  const double size_scale = std::min(1.0, std::min({g.fov_x(), g.fov_y()}) / 40.0);

  std::vector<Nucleus> nuclei;
  const int wanted = options.objects;
  for (int n = 0; n < wanted; ++n) {
    Nucleus c;
    const double r = rng.uniform(3.8, 5.8) * size_scale;
    c.radius = r;
    c.shape.axes = {r * rng.uniform(0.85, 1.2), r * rng.uniform(0.8, 1.1), r * rng.uniform(0.65, 0.9)};
    c.shape.rot = rotation(rng.uniform(0, kPi), rng.uniform(-0.25, 0.25), rng.uniform(-0.25, 0.25));
    c.shape.surface = SmoothField::random(rng, 4, 1.5, 3.0, 0.07);
    c.brightness = rng.uniform(0.55, 1.0);
    bool placed = false;
    for (int attempt = 0; attempt < 60 && !placed; ++attempt) {
      const bool touch = !nuclei.empty() && rng.uniform() < 0.45;
      std::array<double, 3> p;
      int partner = -1;
      if (touch) {
        partner = int(rng.uniform_int(0, int64_t(nuclei.size()) - 1));
        double d[3] = {rng.normal(), rng.normal(), 0.35 * rng.normal()};
        const double len = std::max(1e-9, std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]));
        // Closer than the sum of radii: the two shapes overlap a little, so they share a border.
        const double dist = 0.9 * (r + nuclei[size_t(partner)].radius);
        for (int a = 0; a < 3; ++a) p[a] = nuclei[size_t(partner)].shape.centre[a] + dist * d[a] / len;
      } else {
        for (int a = 0; a < 3; ++a) p[a] = rng.uniform(-half[a], half[a]);
      }
      bool inside = true;
      for (int a = 0; a < 3; ++a) inside = inside && std::fabs(p[a]) < half[a];
      bool free = inside;
      for (size_t m = 0; m < nuclei.size() && free; ++m) {
        const auto& o = nuclei[m].shape.centre;
        const double dist = std::sqrt((p[0] - o[0]) * (p[0] - o[0]) + (p[1] - o[1]) * (p[1] - o[1]) +
                                      (p[2] - o[2]) * (p[2] - o[2]));
        const double limit = (int(m) == partner ? 0.85 : 1.0) * (r + nuclei[m].radius);
        free = dist >= limit;
      }
      if (free) {
        c.shape.centre = p;
        placed = true;
      }
    }
    if (!placed) continue;  // the field of view is full: fewer nuclei than asked
    for (int a = 0; a < 3; ++a) c.nucleolus[a] = c.shape.centre[a] + rng.uniform(-0.35, 0.35) * r;
    nuclei.push_back(c);
  }

  // Rasterise: each voxel belongs to the nucleus with the lowest normalised radius (a shared border
  // where two shapes overlap). Instance ids follow creation order, empty ones dropped.
  RawPhantom out;
  out.labels.assign(size_t(g.count()), 0);
  std::vector<float> best(size_t(g.count()), 1.0f);
  for (size_t n = 0; n < nuclei.size(); ++n) {
    const Blob& b = nuclei[n].shape;
    const double rb = b.bound();
    for_each_in_box(g, {b.centre[0] - rb, b.centre[1] - rb, b.centre[2] - rb},
                    {b.centre[0] + rb, b.centre[1] + rb, b.centre[2] + rb},
                    [&](int64_t idx, double x, double y, double z) {
                      const float l = float(b.level(x, y, z));
                      if (l < best[size_t(idx)]) {
                        best[size_t(idx)] = l;
                        out.labels[size_t(idx)] = int32_t(n + 1);
                      }
                    });
  }
  std::vector<int32_t> remap(nuclei.size() + 1, 0);
  std::vector<uint8_t> present(nuclei.size() + 1, 0);
  for (const int32_t v : out.labels) present[size_t(v)] = 1;
  int32_t next = 0;
  for (size_t n = 1; n <= nuclei.size(); ++n)
    if (present[n]) remap[n] = ++next;
  for (auto& v : out.labels) v = remap[size_t(v)];
  out.instances = next;

  // Fluorophore density: chromatin texture, brighter periphery, a dark nucleolus.
  const SmoothField chromatin = SmoothField::random(rng, 8, 2 * kPi / 3.0, 2 * kPi / 1.2, 1.0);
  std::vector<float> density(size_t(g.count()), 0.0f);
  std::vector<int32_t> original(size_t(next) + 1, 0);
  for (size_t n = 1; n <= nuclei.size(); ++n)
    if (remap[n]) original[size_t(remap[n])] = int32_t(n);
  for (int64_t k = 0; k < g.nz; ++k)
    for (int64_t j = 0; j < g.ny; ++j)
      for (int64_t i = 0; i < g.nx; ++i) {
        const int64_t idx = g.index(i, j, k);
        const int32_t id = out.labels[size_t(idx)];
        if (id == 0) continue;
        const Nucleus& c = nuclei[size_t(original[size_t(id)] - 1)];
        const double x = g.px(i), y = g.py(j), z = g.pz(k);
        const double l = best[size_t(idx)];
        double v = c.brightness * (1.0 + 0.18 * chromatin(x, y, z)) * (0.85 + 0.2 * l);
        const double dn = std::sqrt((x - c.nucleolus[0]) * (x - c.nucleolus[0]) +
                                    (y - c.nucleolus[1]) * (y - c.nucleolus[1]) +
                                    (z - c.nucleolus[2]) * (z - c.nucleolus[2]));
        if (dn < 0.22 * c.radius) v *= 0.45;
        density[size_t(idx)] = float(v * kPeakPhotons);
      }

  // Optics: in-focus PSF plus a wide out-of-focus haze.
  std::vector<float> haze = density;
  gaussian_blur(density, g, {kPsfSigmaXY / g.sx, kPsfSigmaXY / g.sy, kPsfSigmaZ / g.sz});
  gaussian_blur(haze, g, {3.0 / g.sx, 3.0 / g.sy, 4.0 / g.sz});

  // Camera: Poisson shot noise on signal + autofluorescence, offset, Gaussian read noise.
  Rng noise(options.seed, "cells/noise");
  out.image.resize(size_t(g.count()));
  for (size_t i = 0; i < density.size(); ++i) {
    const double lambda = density[i] + 0.12 * haze[i] + kAutofluorescence;
    out.image[i] = float(kCameraOffset + double(noise.poisson(lambda)) + kReadNoise * noise.normal());
  }
  return out;
}

}  // namespace voxseg::phantom::detail
