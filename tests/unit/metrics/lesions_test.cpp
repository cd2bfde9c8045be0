// Lesion-wise scores on crafted cases with known answers (split, merge, miss, far false positive, empty reference).
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>

#include <cmath>

#include "voxseg/core/error.h"
#include "voxseg/metrics/lesions.h"

namespace vm = voxseg::metrics;
using voxseg::Volume;

namespace {

Volume grid(int64_t nz, int64_t ny, int64_t nx, double sp = 1.0) {
  Volume v;
  v.data = at::zeros({nz, ny, nx}, at::kShort);
  v.geometry.size = {nx, ny, nz};
  v.geometry.spacing = {sp, sp, sp};
  return v;
}

// Fills [lo, hi) (z, y, x) with `value`.
void box(Volume& v, std::array<int64_t, 3> lo, std::array<int64_t, 3> hi, int16_t value) {
  auto* d = v.data.data_ptr<int16_t>();
  const int64_t ny = v.data.size(1), nx = v.data.size(2);
  for (int64_t z = lo[0]; z < hi[0]; ++z)
    for (int64_t y = lo[1]; y < hi[1]; ++y)
      for (int64_t x = lo[2]; x < hi[2]; ++x) d[(z * ny + y) * nx + x] = value;
}

vm::LesionScores score(const Volume& p, const Volume& r, vm::LesionOptions o = {}) {
  vm::MetricOptions m;
  m.threads = 1;
  return vm::evaluate_lesions(p, r, vm::Region{"tumor", {1}}, o, m);
}

double diagonal(const Volume& v) {
  const auto& g = v.geometry;
  return std::sqrt(std::pow(g.size[0] * g.spacing[0], 2) + std::pow(g.size[1] * g.spacing[1], 2) +
                   std::pow(g.size[2] * g.spacing[2], 2));
}

}  // namespace

TEST(Lesions, PerfectMatchScoresOne) {
  Volume r = grid(10, 20, 20), p = grid(10, 20, 20);
  box(r, {2, 2, 2}, {6, 6, 6}, 1), box(p, {2, 2, 2}, {6, 6, 6}, 1);
  const auto s = score(p, r);
  EXPECT_EQ(s.n_ref, 1); EXPECT_EQ(s.n_pred, 1); EXPECT_EQ(s.tp, 1); EXPECT_EQ(s.fp, 0); EXPECT_EQ(s.fn, 0);
  EXPECT_DOUBLE_EQ(*s.lesion_dice, 1.0);
  EXPECT_DOUBLE_EQ(*s.lesion_hd95, 0.0);
  EXPECT_DOUBLE_EQ(*s.f1, 1.0);
  EXPECT_DOUBLE_EQ(s.fp_volume_ml, 0.0); EXPECT_DOUBLE_EQ(s.fn_volume_ml, 0.0);
}

TEST(Lesions, OneLesionSplitInTwoIsOneTruePositive) {
  Volume r = grid(6, 10, 30), p = grid(6, 10, 30);
  box(r, {1, 1, 1}, {5, 9, 21}, 1);             // 4 x 8 x 20 = 640 voxels
  box(p, {1, 1, 1}, {5, 9, 10}, 1), box(p, {1, 1, 12}, {5, 9, 21}, 1);  // 288 + 288, a 2-voxel gap
  const auto s = score(p, r);
  EXPECT_EQ(s.n_ref, 1); EXPECT_EQ(s.n_pred, 2); EXPECT_EQ(s.tp, 1); EXPECT_EQ(s.fp, 0); EXPECT_EQ(s.fn, 0);
  EXPECT_DOUBLE_EQ(*s.lesion_dice, 2.0 * 576 / (640 + 576));  // against the union of both parts
  EXPECT_DOUBLE_EQ(*s.sensitivity, 1.0); EXPECT_DOUBLE_EQ(*s.precision, 1.0);
  ASSERT_EQ(s.lesions.size(), 3u);
  EXPECT_EQ(s.lesions[0].side, "ref"); EXPECT_EQ(s.lesions[0].partners, 2);
  EXPECT_NEAR(s.lesions[0].partner_ml, 0.576, 1e-12);
  // At IoU > 0.5 neither half matches (288/640 = 0.45): one miss and two false positives.
  vm::LesionOptions o;
  o.iou = 0.5;
  const auto t = score(p, r, o);
  EXPECT_EQ(t.tp, 0); EXPECT_EQ(t.fp, 2); EXPECT_EQ(t.fn, 1);
  EXPECT_DOUBLE_EQ(*t.lesion_dice, 0.0);
  EXPECT_NEAR(*t.lesion_hd95, diagonal(r), 1e-9);
  EXPECT_DOUBLE_EQ(t.fp_volume_ml, 0.0);  // they overlap the reference: not autoPET false positives
}

TEST(Lesions, TwoMergedIntoOneAreTwoTruePositives) {
  Volume r = grid(6, 10, 30), p = grid(6, 10, 30);
  box(r, {1, 1, 1}, {5, 9, 10}, 1), box(r, {1, 1, 12}, {5, 9, 21}, 1);
  box(p, {1, 1, 1}, {5, 9, 21}, 1);
  const auto s = score(p, r);
  EXPECT_EQ(s.n_ref, 2); EXPECT_EQ(s.n_pred, 1); EXPECT_EQ(s.tp, 2); EXPECT_EQ(s.fp, 0); EXPECT_EQ(s.fn, 0);
  EXPECT_DOUBLE_EQ(*s.lesion_dice, 2.0 * 288 / (288 + 640));  // each half against the whole merged component
  EXPECT_EQ(s.lesions[2].side, "pred"); EXPECT_EQ(s.lesions[2].partners, 2); EXPECT_TRUE(s.lesions[2].matched);
}

TEST(Lesions, MissedLesionAndFarFalsePositive) {
  Volume r = grid(20, 40, 40, 2.0), p = grid(20, 40, 40, 2.0);
  box(r, {2, 2, 2}, {6, 6, 6}, 1), box(p, {2, 2, 2}, {6, 6, 6}, 1);  // matched perfectly
  box(r, {2, 20, 2}, {4, 22, 4}, 1);                                  // missed: 8 voxels
  box(p, {15, 30, 30}, {18, 33, 33}, 1);                              // false positive: 27 voxels
  const auto s = score(p, r);
  EXPECT_EQ(s.tp, 1); EXPECT_EQ(s.fn, 1); EXPECT_EQ(s.fp, 1);
  EXPECT_DOUBLE_EQ(*s.lesion_dice, 1.0 / 3.0);
  EXPECT_NEAR(*s.lesion_hd95, 2.0 * diagonal(r) / 3.0, 1e-9);
  EXPECT_DOUBLE_EQ(s.penalty_mm, diagonal(r));
  EXPECT_DOUBLE_EQ(*s.sensitivity, 0.5); EXPECT_DOUBLE_EQ(*s.precision, 0.5); EXPECT_DOUBLE_EQ(*s.f1, 0.5);
  EXPECT_NEAR(s.fn_volume_ml, 8 * 0.008, 1e-12);
  EXPECT_NEAR(s.fp_volume_ml, 27 * 0.008, 1e-12);
  // Ignoring lesions under 0.1 ml drops the 8-voxel (0.064 ml) miss.
  vm::LesionOptions o;
  o.min_ml = 0.1;
  const auto t = score(p, r, o);
  EXPECT_EQ(t.ignored_ref, 1); EXPECT_EQ(t.fn, 0); EXPECT_EQ(t.fp, 1);
  EXPECT_DOUBLE_EQ(*t.lesion_dice, 0.5);
}

TEST(Lesions, DilationMatchesANearbyPrediction) {
  Volume r = grid(10, 20, 30), p = grid(10, 20, 30);
  box(r, {3, 3, 3}, {7, 7, 7}, 1);
  box(p, {3, 3, 8}, {7, 7, 12}, 1);  // a one-voxel gap (x = 7): reached by a dilation of 2, not 1
  EXPECT_EQ(score(p, r).tp, 0);
  vm::LesionOptions o;
  o.dilate = 2;
  const auto s = score(p, r, o);
  EXPECT_EQ(s.tp, 1); EXPECT_EQ(s.fp, 0);
  EXPECT_DOUBLE_EQ(*s.lesion_dice, 0.0);  // matched, yet no voxel in common
  EXPECT_NEAR(s.fp_volume_ml, 0.064, 1e-12);  // autoPET's rule ignores the dilation
  o.dilate = 1;
  EXPECT_EQ(score(p, r, o).tp, 0);
}

TEST(Lesions, ConnectivityDecidesWhetherDiagonalVoxelsAreOneLesion) {
  Volume r = grid(3, 3, 3), p = grid(3, 3, 3);
  box(r, {0, 0, 0}, {1, 1, 1}, 1), box(r, {1, 1, 1}, {2, 2, 2}, 1);  // corner neighbours
  box(p, {0, 0, 0}, {1, 1, 1}, 1);
  EXPECT_EQ(score(p, r).n_ref, 1);
  vm::LesionOptions o;
  o.connectivity = 18;
  const auto s = score(p, r, o);
  EXPECT_EQ(s.n_ref, 2); EXPECT_EQ(s.tp, 1); EXPECT_EQ(s.fn, 1);
}

TEST(Lesions, EmptyReference) {
  Volume r = grid(8, 8, 8), p = grid(8, 8, 8);
  const auto none = score(p, r);
  EXPECT_EQ(none.flag, "absent");
  EXPECT_FALSE(none.lesion_dice); EXPECT_FALSE(none.f1); EXPECT_FALSE(none.sensitivity);
  box(p, {1, 1, 1}, {3, 3, 3}, 1);
  const auto s = score(p, r);
  EXPECT_EQ(s.flag, "");
  EXPECT_EQ(s.fp, 1); EXPECT_EQ(s.n_ref, 0);
  EXPECT_DOUBLE_EQ(*s.lesion_dice, 0.0);
  EXPECT_FALSE(s.sensitivity);
  EXPECT_DOUBLE_EQ(*s.precision, 0.0); EXPECT_DOUBLE_EQ(*s.f1, 0.0);
  EXPECT_DOUBLE_EQ(s.fp_volume_ml, 0.008);
}

TEST(Lesions, ParsesLabelsAndMatchRules) {
  const std::map<int64_t, std::string> names{{2, "edema"}, {3, "enhancing"}};
  const std::vector<vm::Region> regions{{"whole", {1, 2, 3}}};
  const auto l = vm::parse_lesion_labels("3,edema,whole,7", names, regions);
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0].name, "enhancing"); EXPECT_EQ(l[1].values, std::vector<int64_t>{2});
  EXPECT_EQ(l[2].values.size(), 3u); EXPECT_EQ(l[3].name, "7");
  EXPECT_THROW(vm::parse_lesion_labels("liver", names, regions), voxseg::Error);
  EXPECT_THROW(vm::parse_lesion_labels("0", names, regions), voxseg::Error);
  EXPECT_FALSE(vm::parse_lesion_match("any"));
  EXPECT_DOUBLE_EQ(*vm::parse_lesion_match("iou:0.3"), 0.3);
  EXPECT_THROW(vm::parse_lesion_match("iou:1.5"), voxseg::Error);
  EXPECT_THROW(vm::parse_lesion_match("overlap"), voxseg::Error);
  vm::LesionOptions o;
  o.dilate = 3;
  EXPECT_THROW(vm::configure_lesions(o, "1", "iou:0.5", names, regions, false, false), voxseg::Error);
  EXPECT_THROW(vm::configure_lesions(o, "", "any", names, regions, false, false), voxseg::Error);
  vm::LesionOptions q;
  EXPECT_THROW(vm::configure_lesions(q, "1", "any", names, regions, true, false), voxseg::Error);
}
