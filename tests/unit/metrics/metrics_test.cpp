// Analytic and brute-force checks of voxseg's overlap and surface metrics.
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "voxseg/metrics/evaluate.h"
#include "voxseg/metrics/surface.h"

namespace vm = voxseg::metrics;
using voxseg::Volume;

namespace {

Volume make_volume(int64_t nz, int64_t ny, int64_t nx, std::array<double, 3> spacing_xyz) {
  Volume v;
  v.data = at::zeros({nz, ny, nx}, at::kByte);
  v.geometry.size = {nx, ny, nz};
  v.geometry.spacing = spacing_xyz;
  return v;
}

// Sets voxels whose physical centre lies in a ball (centre and radius in mm, x y z).
void paint_ball(Volume& v, std::array<double, 3> c, double r, uint8_t label) {
  auto* d = v.data.data_ptr<uint8_t>();
  const auto& s = v.geometry.spacing;
  const int64_t nz = v.data.size(0), ny = v.data.size(1), nx = v.data.size(2);
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        const double dx = double(x) * s[0] - c[0], dy = double(y) * s[1] - c[1], dz = double(z) * s[2] - c[2];
        if (dx * dx + dy * dy + dz * dz <= r * r) d[(z * ny + y) * nx + x] = label;
      }
}

void paint_box(Volume& v, std::array<int64_t, 3> lo_zyx, std::array<int64_t, 3> hi_zyx, uint8_t label) {
  auto* d = v.data.data_ptr<uint8_t>();
  const int64_t ny = v.data.size(1), nx = v.data.size(2);
  for (int64_t z = lo_zyx[0]; z < hi_zyx[0]; ++z)
    for (int64_t y = lo_zyx[1]; y < hi_zyx[1]; ++y)
      for (int64_t x = lo_zyx[2]; x < hi_zyx[2]; ++x) d[(z * ny + y) * nx + x] = label;
}

vm::RegionScores score(const Volume& p, const Volume& r, vm::MetricOptions o = {}) {
  return vm::evaluate_regions(p, r, {{"1", {1}}}, o).at(0);
}

}  // namespace

TEST(Overlap, TwoSpheresMatchAnalyticDiceIouAndHausdorff) {
  const double r1 = 12, r2 = 10, d = 5;  // mm
  const std::array<double, 3> sp{0.8, 0.9, 1.2};
  Volume ref = make_volume(40, 56, 64, sp), pred = make_volume(40, 56, 64, sp);
  paint_ball(ref, {25, 25, 24}, r1, 1);
  paint_ball(pred, {25 + d, 25, 24}, r2, 1);
  const auto s = score(pred, ref);
  // Lens volume of two intersecting balls.
  const double pi = std::acos(-1.0);
  const double lens = pi * std::pow(r1 + r2 - d, 2) * (d * d + 2 * d * r2 - 3 * r2 * r2 + 2 * d * r1 + 6 * r1 * r2 - 3 * r1 * r1) / (12 * d);
  const double v1 = 4.0 / 3 * pi * r1 * r1 * r1, v2 = 4.0 / 3 * pi * r2 * r2 * r2;
  EXPECT_NEAR(*s.dice, 2 * lens / (v1 + v2), 0.02);
  EXPECT_NEAR(*s.iou, lens / (v1 + v2 - lens), 0.02);
  EXPECT_NEAR(s.ref_ml, v1 / 1000, v1 / 1000 * 0.03);
  // Surfaces of balls: Hausdorff = d + |r1 - r2|, within a voxel diagonal.
  const double voxel = std::sqrt(sp[0] * sp[0] + sp[1] * sp[1] + sp[2] * sp[2]);
  EXPECT_NEAR(*s.hd, d + std::abs(r1 - r2), voxel);
  // ASSD: mean over each sphere of |distance to the other centre - other radius|, area-weighted.
  auto mean_dist = [&](double ra, double rb) {
    double sum = 0, w = 0;
    for (int i = 0; i < 20000; ++i) {
      const double t = (i + 0.5) / 20000 * pi;
      const double rho = std::sqrt(ra * ra + d * d - 2 * ra * d * std::cos(t));
      sum += std::abs(rho - rb) * std::sin(t), w += std::sin(t);
    }
    return sum / w;
  };
  const double a1 = r1 * r1, a2 = r2 * r2;  // surface areas up to 4 pi
  const double assd = (mean_dist(r1, r2) * a1 + mean_dist(r2, r1) * a2) / (a1 + a2);
  EXPECT_NEAR(*s.assd, assd, 0.5 * voxel);
  EXPECT_EQ(s.flag, "");
}

TEST(Surface, CubeShiftedAlongEachAxisHasHausdorffOfShiftTimesSpacing) {
  const std::array<double, 3> sp{0.7, 1.3, 2.5};  // x y z
  for (int axis = 0; axis < 3; ++axis)
    for (int k : {1, 3})
      for (auto mode : {vm::SurfaceMode::Voxels, vm::SurfaceMode::Surfels}) {
        Volume ref = make_volume(24, 24, 24, sp), pred = make_volume(24, 24, 24, sp);
        paint_box(ref, {6, 6, 6}, {16, 16, 16}, 1);
        std::array<int64_t, 3> lo{6, 6, 6}, hi{16, 16, 16};
        lo[size_t(2 - axis)] += k, hi[size_t(2 - axis)] += k;  // array order is z y x
        paint_box(pred, lo, hi, 1);
        vm::MetricOptions o;
        o.surface = mode;
        const auto s = score(pred, ref, o);
        EXPECT_NEAR(*s.hd, k * sp[size_t(axis)], 1e-5) << "axis " << axis << " k " << k;
        EXPECT_NEAR(*s.dice, 1.0 - k / 10.0, 1e-12);
      }
}

TEST(Surface, IdenticalMasksHaveDiceOneAndZeroDistances) {
  for (auto mode : {vm::SurfaceMode::Voxels, vm::SurfaceMode::Surfels}) {
    Volume ref = make_volume(20, 20, 20, {1.0, 0.5, 2.0});
    paint_ball(ref, {5, 5, 20}, 4, 1);
    vm::MetricOptions o;
    o.surface = mode;
    const auto s = score(ref, ref, o);
    EXPECT_DOUBLE_EQ(*s.dice, 1.0);
    EXPECT_DOUBLE_EQ(*s.iou, 1.0);
    EXPECT_DOUBLE_EQ(*s.hd, 0.0);
    EXPECT_DOUBLE_EQ(*s.hd95, 0.0);
    EXPECT_DOUBLE_EQ(*s.assd, 0.0);
    EXPECT_DOUBLE_EQ(*s.nsd, 1.0);
  }
}

TEST(Surface, DisjointCubesHaveDiceZeroAndTheGapAsMinimumDistance) {
  Volume ref = make_volume(10, 10, 30, {1.5, 1, 1}), pred = make_volume(10, 10, 30, {1.5, 1, 1});
  paint_box(ref, {2, 2, 2}, {6, 6, 6}, 1);
  paint_box(pred, {2, 2, 16}, {6, 6, 20}, 1);
  const auto s = score(pred, ref);
  EXPECT_DOUBLE_EQ(*s.dice, 0.0);
  EXPECT_EQ(s.flag, "");
  // Directed ASDs are both >= the face gap (16 - 5 voxels = 11 x 1.5 mm) and HD is the far corners.
  EXPECT_GE(*s.asd_pred_to_ref, 11 * 1.5 - 1e-6);
  EXPECT_NEAR(*s.hd, std::sqrt(std::pow(14 * 1.5, 2)), 1e-5);  // x: voxel 19 to voxel 5
  EXPECT_DOUBLE_EQ(*s.nsd, 0.0);
}

TEST(EmptyMasks, FlagsAndNullsFollowTheDesign) {
  Volume with = make_volume(8, 8, 8, {1, 1, 1}), without = make_volume(8, 8, 8, {1, 1, 1});
  paint_box(with, {2, 2, 2}, {5, 5, 5}, 1);
  const auto missing = score(without, with);
  EXPECT_EQ(missing.flag, "missing");
  EXPECT_DOUBLE_EQ(*missing.dice, 0.0);
  EXPECT_FALSE(missing.hd && missing.hd95 && missing.assd);
  EXPECT_FALSE(missing.hd95.has_value());
  EXPECT_FALSE(missing.precision.has_value());
  EXPECT_DOUBLE_EQ(*missing.recall, 0.0);
  const auto spurious = score(with, without);
  EXPECT_EQ(spurious.flag, "spurious");
  EXPECT_DOUBLE_EQ(*spurious.dice, 0.0);
  EXPECT_FALSE(spurious.assd.has_value());
  EXPECT_FALSE(spurious.recall.has_value());
  const auto absent = score(without, without);
  EXPECT_EQ(absent.flag, "absent");
  EXPECT_FALSE(absent.dice.has_value());
  EXPECT_FALSE(vm::metric_value(absent, "dice").has_value());
  EXPECT_FALSE(vm::metric_value(absent, "pred_ml").has_value());
}

TEST(Regions, MergedLabelsAreScoredAsOneMask) {
  Volume ref = make_volume(10, 10, 10, {1, 1, 1}), pred = make_volume(10, 10, 10, {1, 1, 1});
  paint_box(ref, {0, 0, 0}, {5, 10, 10}, 1);
  paint_box(ref, {5, 0, 0}, {10, 10, 10}, 6);
  paint_box(pred, {0, 0, 0}, {10, 10, 10}, 6);  // all 6: label 1 is missed, but liver = 1+6 is perfect
  const auto s = vm::evaluate_regions(pred, ref, {{"1", {1}}, {"liver", {1, 6}}}, {});
  EXPECT_EQ(s[0].flag, "missing");
  EXPECT_DOUBLE_EQ(*s[1].dice, 1.0);
  EXPECT_DOUBLE_EQ(*s[1].hd, 0.0);
}

namespace {
// Independent brute force: boundary by explicit neighbour checks, all-pairs distances.
std::vector<std::array<double, 3>> boundary_points(const Volume& v, const std::array<double, 3>& sp) {
  std::vector<std::array<double, 3>> pts;
  const auto* d = v.data.data_ptr<uint8_t>();
  const int64_t nz = v.data.size(0), ny = v.data.size(1), nx = v.data.size(2);
  auto at = [&](int64_t z, int64_t y, int64_t x) {
    return z >= 0 && y >= 0 && x >= 0 && z < nz && y < ny && x < nx && d[(z * ny + y) * nx + x];
  };
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x)
        if (at(z, y, x) && !(at(z - 1, y, x) && at(z + 1, y, x) && at(z, y - 1, x) && at(z, y + 1, x) &&
                             at(z, y, x - 1) && at(z, y, x + 1)))
          pts.push_back({double(x) * sp[0], double(y) * sp[1], double(z) * sp[2]});
  return pts;
}
std::vector<double> directed_brute(const std::vector<std::array<double, 3>>& a, const std::vector<std::array<double, 3>>& b) {
  std::vector<double> out;
  for (const auto& p : a) {
    double best = INFINITY;
    for (const auto& q : b)
      best = std::min(best, std::sqrt((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]) + (p[2] - q[2]) * (p[2] - q[2])));
    out.push_back(best);
  }
  std::sort(out.begin(), out.end());
  return out;
}
double quantile(const std::vector<double>& v, double q) {  // numpy "linear"
  const double h = (double(v.size()) - 1) * q;
  const double f = std::floor(h);
  return v[size_t(f)] + (h - f) * (v[std::min(v.size() - 1, size_t(f) + 1)] - v[size_t(f)]);
}
}  // namespace

TEST(Hd95, BothConventionsMatchBruteForceOnRandomBlobs) {
  std::mt19937 rng(11);
  const std::array<double, 3> sp{0.6, 1.1, 2.2};
  for (int trial = 0; trial < 6; ++trial) {
    Volume ref = make_volume(14, 18, 20, sp), pred = make_volume(14, 18, 20, sp);
    std::uniform_real_distribution<double> u(3, 9);
    for (int k = 0; k < 3; ++k) {
      paint_ball(ref, {u(rng) * 1.2, u(rng) * 1.5, u(rng) * 2.5}, u(rng) * 0.6, 1);
      paint_ball(pred, {u(rng) * 1.2, u(rng) * 1.5, u(rng) * 2.5}, u(rng) * 0.6, 1);
    }
    const auto bp = boundary_points(pred, sp), br = boundary_points(ref, sp);
    const auto d1 = directed_brute(bp, br), d2 = directed_brute(br, bp);
    std::vector<double> all = d1;
    all.insert(all.end(), d2.begin(), d2.end());
    std::sort(all.begin(), all.end());
    double sum = 0;
    for (double x : all) sum += x;
    vm::MetricOptions o;
    const auto s = score(pred, ref, o);
    EXPECT_NEAR(*s.hd95, std::max(quantile(d1, 0.95), quantile(d2, 0.95)), 1e-4);
    EXPECT_NEAR(*s.hd, all.back(), 1e-4);
    EXPECT_NEAR(*s.assd, sum / double(all.size()), 1e-4);
    double within = 0;
    for (double x : all) within += x <= 1.0 + 1e-9;
    EXPECT_NEAR(*s.nsd, within / double(all.size()), 1e-12);
    o.hd95 = vm::Hd95Mode::Pooled;
    EXPECT_NEAR(*score(pred, ref, o).hd95, quantile(all, 0.95), 1e-4);
  }
}

TEST(Percentiles, WeightedPercentileIsFirstDistanceReachingTheCumulativeFraction) {
  vm::DirectedDistances d{{1, 2, 3, 4}, {0.5, 0.2, 0.25, 0.05}};
  EXPECT_DOUBLE_EQ(vm::percentile_weighted(d, 0.5), 1);
  EXPECT_DOUBLE_EQ(vm::percentile_weighted(d, 0.7), 2);
  EXPECT_DOUBLE_EQ(vm::percentile_weighted(d, 0.95), 3);
  EXPECT_DOUBLE_EQ(vm::percentile_weighted(d, 0.96), 4);
  EXPECT_DOUBLE_EQ(vm::percentile_linear({0, 10}, 0.95), 9.5);
}

TEST(Surfels, AreaTableHasKnownValues) {
  const double sx = 0.7, sy = 1.3, sz = 2.5;
  const auto t = vm::surfel_area_table({sz, sy, sx}, false);
  // One corner inside: a triangle through three half-edges.
  const double corner = 0.5 * std::sqrt(std::pow(sy * sz / 4, 2) + std::pow(sx * sz / 4, 2) + std::pow(sx * sy / 4, 2));
  for (int c : {1, 2, 4, 8, 16, 32, 64, 128}) EXPECT_NEAR(t[size_t(c)], corner, 1e-12) << c;
  EXPECT_NEAR(t[0b00001111], sx * sy, 1e-12);  // bottom layer inside: a flat square across the cell
  EXPECT_NEAR(t[0b00110011], sx * sz, 1e-12);
  EXPECT_NEAR(t[0b01010101], sy * sz, 1e-12);
  EXPECT_EQ(t[0], 0.0);
  EXPECT_EQ(t[255], 0.0);
  for (int c = 1; c < 255; ++c) EXPECT_NEAR(t[size_t(c)], t[size_t(255 - c)], 1e-12) << "complement " << c;
  // The 2D table (marching squares).
  const auto t2 = vm::surfel_area_table({1, sy, sx}, true);
  EXPECT_NEAR(t2[0b0001], 0.5 * std::hypot(sx, sy), 1e-12);
  EXPECT_NEAR(t2[0b0011], sx, 1e-12);
  EXPECT_NEAR(t2[0b0101], sy, 1e-12);
  EXPECT_NEAR(t2[0b0110], std::hypot(sx, sy), 1e-12);
}

TEST(Surfels, SingleVoxelSurfaceAreaAndAreaWeightedAverages) {
  // A single voxel: 8 corner surfels of a one-corner code each, all at distance 0 from themselves.
  Volume v = make_volume(5, 5, 5, {1, 1, 1});
  paint_box(v, {2, 2, 2}, {3, 3, 3}, 1);
  const auto t = vm::surfel_area_table({1, 1, 1}, false);
  EXPECT_NEAR(8 * t[1], std::sqrt(3.0), 1e-12);
  // Two voxels side by side vs one of them: surfels of the pair farther than 0 are its far corners.
  Volume two = make_volume(5, 5, 5, {1, 1, 1});
  paint_box(two, {2, 2, 2}, {3, 3, 4}, 1);
  vm::MetricOptions o;
  o.surface = vm::SurfaceMode::Surfels;
  const auto s = score(two, v, o);
  // Pair corners at x = 3.5 are 1 mm from the single voxel's corners at x = 2.5.
  EXPECT_NEAR(*s.hd, 1.0, 1e-6);
  EXPECT_NEAR(*s.asd_ref_to_pred, 0.0, 1e-9);
  EXPECT_GT(*s.asd_pred_to_ref, 0.0);
  EXPECT_LT(*s.asd_pred_to_ref, 1.0);
}

TEST(Surfels, AreaTableMatchesDeepMindValues) {
  // Areas of DeepMind surface-distance's lookup table (create_table_neighbour_code_to_surface_area) for
  // its codes 7, 61, 105, 23, 60 at spacing (1,1,1) and (2.5,1.3,0.7), translated to voxseg's bit order
  // (DeepMind bit 7 - (4 dz + 2 dy + dx) is voxseg bit 4 dz + 2 dy + dx): non-planar polygons, ambiguous
  // faces with 3, 4 and 5 corners inside.
  const struct { int code; double iso, aniso; } known[] = {
      {224, 1.149519052838329, 1.880646235045707},   {188, 0.9236131321326573, 1.4614456079342784},
      {150, 0.8660254037844386, 1.9008616467276096}, {105, 0.8660254037844386, 1.9008616467276096},
      {232, 1.2990381056766578, 2.8512924700914146}, {60, 1.4142135623730951, 1.972460392504752}};
  const auto iso = vm::surfel_area_table({1, 1, 1}, false), aniso = vm::surfel_area_table({2.5, 1.3, 0.7}, false);
  for (const auto& k : known) {
    EXPECT_NEAR(iso[size_t(k.code)], k.iso, 1e-12) << k.code;
    EXPECT_NEAR(aniso[size_t(k.code)], k.aniso, 1e-12) << k.code;
  }
}
