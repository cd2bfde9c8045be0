#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "voxseg/phantom/detail/grid.h"
#include "voxseg/phantom/detail/random.h"

using voxseg::phantom::detail::Grid;
using voxseg::phantom::detail::Rng;

TEST(Rng, SameSeedAndStreamGiveSameNumbers) {
  Rng a(42, "x"), b(42, "x"), c(42, "y"), d(43, "x");
  bool differs_c = false, differs_d = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t va = a.next_u64();
    EXPECT_EQ(va, b.next_u64());
    differs_c |= va != c.next_u64();
    differs_d |= va != d.next_u64();
  }
  EXPECT_TRUE(differs_c);
  EXPECT_TRUE(differs_d);
}

TEST(Rng, UniformAndNormalHaveTheirMoments) {
  Rng rng(7, "moments");
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    const double z = rng.normal();
    sn += z;
    sn2 += z * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
}

TEST(Rng, PoissonMeanEqualsVarianceForSmallAndLargeRates) {
  // Both code paths: multiplication (< 30) and transformed rejection (>= 30).
  for (const double lambda : {0.5, 4.0, 29.0, 30.0, 120.0, 2500.0}) {
    Rng rng(11, "poisson");
    const int n = 100000;
    double s = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
      const double k = double(rng.poisson(lambda));
      ASSERT_GE(k, 0.0);
      s += k;
      s2 += k * k;
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    EXPECT_NEAR(mean, lambda, 5 * std::sqrt(lambda / n) + 1e-3) << "lambda " << lambda;
    EXPECT_NEAR(var / lambda, 1.0, 0.04) << "lambda " << lambda;
  }
}

TEST(Rng, UniformIntCoversItsInclusiveRange) {
  Rng rng(3, "int");
  std::vector<int> hits(5, 0);
  for (int i = 0; i < 5000; ++i) {
    const int64_t v = rng.uniform_int(2, 6);
    ASSERT_GE(v, 2);
    ASSERT_LE(v, 6);
    ++hits[size_t(v - 2)];
  }
  for (const int h : hits) EXPECT_GT(h, 800);
}

TEST(GaussianBlur, PreservesSumAndNoiseGainMatchesMeasurement) {
  const Grid g({64, 64, 64}, {1.0, 1.0, 1.0});
  std::vector<float> v(size_t(g.count()));
  Rng rng(5, "blur");
  for (auto& x : v) x = float(rng.normal());
  const std::array<double, 3> sigma{1.0, 1.5, 0.0};
  voxseg::phantom::detail::gaussian_blur(v, g, sigma);
  // Away from the edges, where replicated borders would correlate the noise further.
  double s2 = 0;
  int64_t n = 0;
  for (int64_t z = 8; z < 56; ++z)
    for (int64_t y = 8; y < 56; ++y)
      for (int64_t x = 8; x < 56; ++x) {
        const double val = v[size_t(g.index(x, y, z))];
        s2 += val * val;
        ++n;
      }
  const double measured = std::sqrt(s2 / double(n));
  EXPECT_NEAR(measured, voxseg::phantom::detail::blur_noise_gain(sigma), 0.01);

  std::vector<float> impulse(size_t(g.count()), 0.0f);
  impulse[size_t(g.index(32, 32, 32))] = 1.0f;
  voxseg::phantom::detail::gaussian_blur(impulse, g, {1.0, 1.0, 2.0});
  double sum = 0;
  for (const float x : impulse) sum += x;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_LT(impulse[size_t(g.index(32, 32, 32))], 0.1f);
}

TEST(Grid, OriginIsCentred) {
  const Grid g({10, 20, 5}, {0.5, 2.0, 3.0});
  EXPECT_DOUBLE_EQ(g.px(0) + g.px(9), 0.0);
  EXPECT_DOUBLE_EQ(g.py(0) + g.py(19), 0.0);
  EXPECT_DOUBLE_EQ(g.pz(0) + g.pz(4), 0.0);
  const auto geo = g.geometry();
  EXPECT_EQ(geo.orientation_code(), "LPS");
}
