// Speed of voxseg eval's metric core on a CT-sized pair, and its agreement with brute force.
// Usage: metrics_bench [--size X,Y,Z] [--labels N] [--threads N]
#include <ATen/ops/zeros.h>

#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "voxseg/metrics/edt.h"
#include "voxseg/metrics/evaluate.h"

namespace vm = voxseg::metrics;

namespace {

// Blobs: each label is the union of 3 random balls; the prediction moves and resizes them a little.
void paint(at::Tensor& t, int label, std::array<double, 3> c, double r) {
  auto* d = t.data_ptr<uint8_t>();
  const int64_t nz = t.size(0), ny = t.size(1), nx = t.size(2);
  for (int64_t z = std::max<int64_t>(0, int64_t(c[2] - r)); z <= std::min<int64_t>(nz - 1, int64_t(c[2] + r)); ++z)
    for (int64_t y = std::max<int64_t>(0, int64_t(c[1] - r)); y <= std::min<int64_t>(ny - 1, int64_t(c[1] + r)); ++y)
      for (int64_t x = std::max<int64_t>(0, int64_t(c[0] - r)); x <= std::min<int64_t>(nx - 1, int64_t(c[0] + r)); ++x) {
        const double dx = double(x) - c[0], dy = double(y) - c[1], dz = double(z) - c[2];
        if (dx * dx + dy * dy + dz * dz <= r * r) d[(z * ny + y) * nx + x] = uint8_t(label);
      }
}

std::pair<voxseg::Volume, voxseg::Volume> make_pair(int64_t nx, int64_t ny, int64_t nz, int labels, unsigned seed) {
  std::mt19937 rng(seed);
  voxseg::Volume ref, pred;
  ref.data = at::zeros({nz, ny, nx}, at::kByte);
  pred.data = at::zeros({nz, ny, nx}, at::kByte);
  ref.geometry.size = pred.geometry.size = {nx, ny, nz};
  ref.geometry.spacing = pred.geometry.spacing = {0.8, 0.8, 1.5};
  std::uniform_real_distribution<double> ux(0.15 * double(nx), 0.85 * double(nx)), uy(0.15 * double(ny), 0.85 * double(ny)),
      uz(0.15 * double(nz), 0.85 * double(nz)), jitter(-3, 3);
  const double rmax = double(std::min({nx, ny, nz})) / 8;
  std::uniform_real_distribution<double> ur(rmax / 3, rmax);
  for (int l = 1; l <= labels; ++l)
    for (int k = 0; k < 3; ++k) {
      const std::array<double, 3> c{ux(rng), uy(rng), uz(rng)};
      const double r = ur(rng);
      paint(ref.data, l, c, r);
      paint(pred.data, l, {c[0] + jitter(rng), c[1] + jitter(rng), c[2] + jitter(rng)}, r + jitter(rng) / 2);
    }
  return {pred, ref};
}

// Brute force on boundary voxels (all pairs), for one label.
void brute_force(const voxseg::Volume& p, const voxseg::Volume& r, int label, double& hd, double& hd95, double& assd) {
  auto boundary = [&](const voxseg::Volume& v) {
    std::vector<std::array<double, 3>> pts;
    const auto* d = v.data.data_ptr<uint8_t>();
    const int64_t nz = v.data.size(0), ny = v.data.size(1), nx = v.data.size(2);
    auto in = [&](int64_t z, int64_t y, int64_t x) {
      return z >= 0 && y >= 0 && x >= 0 && z < nz && y < ny && x < nx && d[(z * ny + y) * nx + x] == label;
    };
    const auto& s = v.geometry.spacing;
    for (int64_t z = 0; z < nz; ++z)
      for (int64_t y = 0; y < ny; ++y)
        for (int64_t x = 0; x < nx; ++x)
          if (in(z, y, x) && !(in(z - 1, y, x) && in(z + 1, y, x) && in(z, y - 1, x) && in(z, y + 1, x) &&
                               in(z, y, x - 1) && in(z, y, x + 1)))
            pts.push_back({double(x) * s[0], double(y) * s[1], double(z) * s[2]});
    return pts;
  };
  const auto a = boundary(p), b = boundary(r);
  auto directed = [](const auto& from, const auto& to) {
    std::vector<double> out;
    for (const auto& u : from) {
      double best = INFINITY;
      for (const auto& v : to)
        best = std::min(best, std::hypot(u[0] - v[0], u[1] - v[1], u[2] - v[2]));
      out.push_back(best);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto d1 = directed(a, b), d2 = directed(b, a);
  hd = std::max(d1.back(), d2.back());
  hd95 = std::max(vm::percentile_linear(d1, 0.95), vm::percentile_linear(d2, 0.95));
  double s = 0;
  for (double x : d1) s += x;
  for (double x : d2) s += x;
  assd = s / double(d1.size() + d2.size());
}

}  // namespace

int main(int argc, char** argv) {
  int64_t nx = 512, ny = 512, nz = 300;
  int labels = 10, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--size")) std::sscanf(argv[i + 1], "%ld,%ld,%ld", &nx, &ny, &nz);
    if (!std::strcmp(argv[i], "--labels")) labels = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
  }
  // Correctness first, on a small case.
  {
    auto [p, r] = make_pair(40, 36, 28, 2, 5);
    vm::MetricOptions o;
    o.threads = threads;
    const auto scores = vm::evaluate_regions(p, r, {{"1", {1}}, {"2", {2}}}, o);
    double max_diff = 0;
    for (int l = 1; l <= 2; ++l) {
      double hd, hd95, assd;
      brute_force(p, r, l, hd, hd95, assd);
      const auto& s = scores[size_t(l - 1)];
      max_diff = std::max({max_diff, std::abs(*s.hd - hd), std::abs(*s.hd95 - hd95), std::abs(*s.assd - assd)});
    }
    std::printf("brute-force check (40x36x28, 2 labels): max |difference| of HD, HD95, ASSD = %.3g mm\n", max_diff);
  }
  auto [p, r] = make_pair(nx, ny, nz, labels, 1);
  std::vector<vm::Region> regions;
  for (int l = 1; l <= labels; ++l) regions.push_back({std::to_string(l), {l}});
  for (auto mode : {vm::SurfaceMode::Voxels, vm::SurfaceMode::Surfels}) {
    vm::MetricOptions o;
    o.threads = threads;
    o.surface = mode;
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();  // process CPU time: the fair number on a shared machine
    const auto scores = vm::evaluate_regions(p, r, regions, o);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
    double mean_dice = 0;
    for (const auto& s : scores) mean_dice += s.dice.value_or(0) / double(scores.size());
    std::printf("%ldx%ldx%ld, %d labels, surface %s, threads %d: %.2f s wall (%.2f s CPU), %.1f Mvoxel/s (mean Dice %.3f)\n",
                nx, ny, nz, labels, mode == vm::SurfaceMode::Voxels ? "voxels" : "surfels", vm::resolve_threads(threads),
                sec, cpu, double(nx * ny * nz) / sec / 1e6, mean_dice);
  }
  vm::MetricOptions o;
  o.threads = threads;
  o.surface_metrics = false;
  const auto t0 = std::chrono::steady_clock::now();
  vm::evaluate_regions(p, r, regions, o);
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("overlap only: %.2f s, %.1f Mvoxel/s\n", sec, double(nx * ny * nz) / sec / 1e6);
  return 0;
}
