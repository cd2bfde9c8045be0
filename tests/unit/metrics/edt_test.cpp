#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "voxseg/metrics/edt.h"

using voxseg::metrics::Grid;
using voxseg::metrics::squared_distance_transform;

namespace {

// Brute force: squared distance from every voxel to every feature voxel.
std::vector<double> brute_force(const std::vector<uint8_t>& f, const Grid& g, const std::array<double, 3>& s) {
  std::vector<double> out(f.size(), std::numeric_limits<double>::infinity());
  const auto [nz, ny, nx] = g.shape;
  for (int64_t i = 0; i < g.count(); ++i) {
    const int64_t z = i / (ny * nx), y = (i / nx) % ny, x = i % nx;
    for (int64_t j = 0; j < g.count(); ++j) {
      if (!f[size_t(j)]) continue;
      const double dz = double(z - j / (ny * nx)) * s[0], dy = double(y - (j / nx) % ny) * s[1],
                   dx = double(x - j % nx) * s[2];
      out[size_t(i)] = std::min(out[size_t(i)], dz * dz + dy * dy + dx * dx);
    }
  }
  return out;
}

}  // namespace

TEST(DistanceTransform, MatchesBruteForceOnRandomMasksWithAnisotropicSpacing) {
  std::mt19937 rng(7);
  const std::vector<std::array<int64_t, 3>> shapes{{9, 13, 17}, {1, 20, 23}, {31, 3, 5}, {6, 40, 2}};
  const std::vector<std::array<double, 3>> spacings{{2.5, 0.7, 1.1}, {1.0, 0.3, 3.0}, {0.5, 0.5, 0.9}};
  for (const auto& shape : shapes)
    for (const auto& spacing : spacings)
      for (double density : {0.002, 0.05, 0.4}) {
        Grid g{shape};
        std::vector<uint8_t> f(size_t(g.count()));
        std::bernoulli_distribution on(density);
        for (auto& v : f) v = on(rng);
        f[size_t(rng() % f.size())] = 1;  // at least one feature
        const auto got = squared_distance_transform(f.data(), g, spacing, 2);
        const auto want = brute_force(f, g, spacing);
        for (size_t i = 0; i < f.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 1e-5 * std::max(1.0, want[i])) << "voxel " << i;
      }
}

TEST(DistanceTransform, NoFeatureGivesInfinity) {
  Grid g{{3, 4, 5}};
  std::vector<uint8_t> f(size_t(g.count()), 0);
  const auto d = squared_distance_transform(f.data(), g, {1, 1, 1}, 1);
  for (float v : d) EXPECT_TRUE(std::isinf(v));
}

TEST(DistanceTransform, QueryMaskKeepsQueriedVoxelsExact) {
  std::mt19937 rng(3);
  for (const std::array<int64_t, 3> shape : {std::array<int64_t, 3>{12, 15, 40}, std::array<int64_t, 3>{1, 30, 37}}) {
    Grid g{shape};
    std::vector<uint8_t> f(size_t(g.count())), q(size_t(g.count()));
    std::bernoulli_distribution on(0.02), ask(0.03);
    for (size_t i = 0; i < f.size(); ++i) f[i] = on(rng), q[i] = ask(rng);
    f[0] = 1;
    const std::array<double, 3> spacing{1.7, 0.6, 0.9};
    const auto got = squared_distance_transform(f.data(), g, spacing, 2, q.data());
    const auto want = brute_force(f, g, spacing);
    for (size_t i = 0; i < f.size(); ++i)
      if (q[i]) {
        ASSERT_NEAR(got[i], want[i], 1e-5 * std::max(1.0, want[i])) << "voxel " << i;
      }
  }
}
