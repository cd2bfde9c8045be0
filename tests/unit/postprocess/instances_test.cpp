// Seeded instance growth of cell models (postprocess::instances_from_classes) on crafted class maps:
// what a three-class model predicts for two touching nuclei whose interiors meet, and a speck.
#include "voxseg/postprocess/instances.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "voxseg/core/error.h"

using voxseg::postprocess::instances_from_classes;
using voxseg::postprocess::InstanceOptions;

namespace {
// Two balls of radius 5 (centres 8 apart along x) as classes: interior inside radius 4, boundary
// in the outer shell, except where the balls meet: there the interior runs through (a neck of the
// two interiors, 3 voxels across, which is how a model merges touching nuclei). Plus a 2x2x2 interior
// speck far away. Returns the classes; ball_a / ball_b are the voxels nearer each centre.
struct TwoBalls {
  at::Tensor classes, ball_a, ball_b, speck;
};
TwoBalls two_touching_balls() {
  const int64_t nz = 14, ny = 14, nx = 30;
  auto z = torch::arange(nz, torch::kFloat).view({nz, 1, 1}).expand({nz, ny, nx});
  auto y = torch::arange(ny, torch::kFloat).view({1, ny, 1}).expand({nz, ny, nx});
  auto x = torch::arange(nx, torch::kFloat).view({1, 1, nx}).expand({nz, ny, nx});
  auto dist = [&](float cx) { return ((z - 6.5f).pow(2) + (y - 6.5f).pow(2) + (x - cx).pow(2)).sqrt(); };
  const auto da = dist(7.0f), db = dist(15.0f);
  const auto d = torch::minimum(da, db);
  auto cls = torch::zeros({nz, ny, nx}, torch::kUInt8);
  cls.masked_fill_(d <= 5.0f, 2);
  cls.masked_fill_(d <= 4.0f, 1);
  // The neck: interior between the two centres, |y-6.5|,|z-6.5| <= 1.
  cls.masked_fill_(((z - 6.5f).abs() <= 1.0f) & ((y - 6.5f).abs() <= 1.0f) & (x >= 7.0f) & (x <= 15.0f), 1);
  cls.slice(0, 2, 4).slice(1, 2, 4).slice(2, 26, 28).fill_(1);
  TwoBalls t;
  t.classes = cls;
  t.ball_a = (cls > 0) & (da <= db) & (x < 22);
  t.ball_b = (cls > 0) & (db < da) & (x < 22);
  t.speck = torch::zeros({nz, ny, nx}, torch::kBool);
  t.speck.slice(0, 2, 4).slice(1, 2, 4).slice(2, 26, 28).fill_(true);
  return t;
}

bool all_same(const at::Tensor& v) { return (v == v[0]).all().item<bool>(); }

// Share of `mask` voxels that carry the most common non-zero id among them, and that id.
std::pair<double, int> dominant(const at::Tensor& ids, const at::Tensor& mask) {
  const auto v = ids.masked_select(mask);
  const auto counts = torch::bincount(v.to(torch::kLong));
  auto c = counts.clone();
  c[0] = 0;
  const int id = int(c.argmax().item<int64_t>());
  return {double(c[id].item<int64_t>()) / double(v.numel()), id};
}
}  // namespace

TEST(InstanceSeeds, TouchingBallsMergeWithoutErosionAndSplitWithIt) {
  const auto t = two_touching_balls();
  InstanceOptions o;
  o.min_size_voxels = 1;
  const auto merged = instances_from_classes(t.classes, o);
  EXPECT_EQ(merged.max().item<int>(), 2);  // one object for both balls, and the speck
  EXPECT_TRUE(all_same(merged.masked_select(t.ball_a | t.ball_b)));

  o.seed_erosion = 1;
  const auto split = instances_from_classes(t.classes, o);
  EXPECT_EQ(split.max().item<int>(), 3);  // two balls and the speck (removed by erosion, kept as a seed)
  const auto [share_a, id_a] = dominant(split, t.ball_a);
  const auto [share_b, id_b] = dominant(split, t.ball_b);
  EXPECT_NE(id_a, id_b);
  EXPECT_GT(share_a, 0.95);
  EXPECT_GT(share_b, 0.95);
  EXPECT_TRUE(torch::equal(split > 0, t.classes > 0));  // every foreground voxel still assigned
  EXPECT_TRUE(all_same(split.masked_select(t.speck)));
  EXPECT_NE(split.masked_select(t.speck)[0].item<int>(), 0);
}

TEST(InstanceSeeds, MinSizeDropsTheSpeckButNotTheBalls) {
  const auto t = two_touching_balls();
  InstanceOptions o;
  o.seed_erosion = 1;
  o.min_size_voxels = 40;  // the speck has 8 voxels, each ball ~500
  const auto out = instances_from_classes(t.classes, o);
  EXPECT_EQ(out.max().item<int>(), 2);
  EXPECT_EQ(out.masked_select(t.speck).sum().item<int64_t>(), 0);
  EXPECT_GT(dominant(out, t.ball_a).first, 0.95);
}

TEST(InstanceSeeds, ErosionZeroIsTheOldRule) {
  // A single interior voxel surrounded by boundary: with or without erosion one instance of 27.
  auto cls = torch::full({3, 3, 3}, 2, torch::kUInt8);
  cls[1][1][1] = 1;
  InstanceOptions o;
  o.min_size_voxels = 1;
  const auto a = instances_from_classes(cls, o);
  o.seed_erosion = 2;
  const auto b = instances_from_classes(cls, o);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_EQ((a == 1).sum().item<int64_t>(), 27);
}

TEST(InstanceSeeds, OptionParsedAndChecked) {
  const auto o = voxseg::postprocess::parse_instance_options(
      voxseg::Json::parse(R"({"interior": 1, "boundary": 2, "min_size_voxels": 40, "seed_erosion": 1})"));
  EXPECT_EQ(o.seed_erosion, 1);
  EXPECT_EQ(o.min_size_voxels, 40);
  EXPECT_EQ(voxseg::postprocess::parse_instance_options(voxseg::Json::parse("{}")).seed_erosion, 0);
  EXPECT_THROW(voxseg::postprocess::parse_instance_options(voxseg::Json::parse(R"({"seed_erosion": -1})")),
               std::invalid_argument);
  InstanceOptions bad;
  bad.seed_erosion = -1;
  EXPECT_THROW(instances_from_classes(torch::zeros({2, 2, 2}, torch::kUInt8), bad), voxseg::Error);
}
