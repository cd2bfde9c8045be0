#include "voxseg/train/augment.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace voxseg::train;

namespace {
CaseArrays make_case() {
  CaseArrays c;
  auto lab = torch::zeros({20, 24, 28}, torch::kUInt8);
  lab.slice(0, 3, 6).slice(1, 4, 8).slice(2, 5, 9).fill_(1);
  lab[15][20][25] = 2;
  c.label = lab;
  c.image = (lab.to(torch::kFloat) * 10 + torch::arange(28, torch::kFloat) * 0.01f).unsqueeze(0);
  c.fg_locations = foreground_locations(lab, 3, 1000, 1);
  return c;
}
const std::array<double, 9> kIdentity{1, 0, 0, 0, 1, 0, 0, 0, 1};
}  // namespace

TEST(ForegroundLocations, ListsEveryClassAndSubsamples) {
  auto c = make_case();
  ASSERT_EQ(c.fg_locations.size(), 2u);
  EXPECT_EQ(c.fg_locations[0].size(0), 3 * 4 * 4);
  EXPECT_EQ(c.fg_locations[1].size(0), 1);
  const auto few = foreground_locations(c.label, 3, 5, 7);
  EXPECT_EQ(few[0].size(0), 5);
  for (int64_t i = 0; i < 5; ++i) {
    const auto r = few[0][i];
    EXPECT_EQ(c.label[r[0].item<int64_t>()][r[1].item<int64_t>()][r[2].item<int64_t>()].item<int>(), 1);
  }
}

TEST(ChooseCentre, ForcedCentresLieOnForeground) {
  const auto c = make_case();
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const auto p = choose_centre(c, {8, 8, 8}, true, seed);
    EXPECT_GT(c.label[int64_t(p[0])][int64_t(p[1])][int64_t(p[2])].item<int>(), 0);
  }
}

TEST(ChooseCentre, RandomPatchesStayInside) {
  const auto c = make_case();
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const auto p = choose_centre(c, {8, 8, 8}, false, seed);
    EXPECT_GE(p[0] - 3.5, 0);
    EXPECT_LE(p[0] + 3.5, 19);
  }
}

TEST(ExtractPatch, IdentityIsACropWithZeroPadding) {
  const auto c = make_case();
  const auto s = extract_patch(c, {4, 4, 4}, {1.5, 5.5, 6.5}, kIdentity);
  EXPECT_TRUE(torch::equal(s.image[0], c.image[0].slice(0, 0, 4).slice(1, 4, 8).slice(2, 5, 9)));
  const auto edge = extract_patch(c, {4, 4, 4}, {0.5, 0.5, 0.5}, kIdentity);
  EXPECT_EQ(edge.image[0][0][0][0].item<float>(), 0.0f);  // index -1: padding
  EXPECT_EQ(edge.image[0][1][1][1].item<float>(), c.image[0][0][0][0].item<float>());
}

TEST(ExtractPatch, GridPathMatchesTheCropAndRotatesLabelsWithImages) {
  const auto c = make_case();
  const auto crop = extract_patch(c, {4, 6, 6}, {4.5, 5.5, 6.5}, kIdentity);
  auto tiny = torch::zeros({4, 6, 6, 3});  // zero displacement forces the grid_sample path
  const auto grid = extract_patch(c, {4, 6, 6}, {4.5, 5.5, 6.5}, kIdentity, tiny);
  EXPECT_TRUE(torch::allclose(crop.image, grid.image, 1e-4, 1e-4));
  EXPECT_TRUE(torch::equal(crop.label, grid.label));
  // 90 degrees in the y-x plane: patch (y, x) reads image (x, -y).
  const std::array<double, 9> rot{1, 0, 0, 0, 0, -1, 0, 1, 0};
  const auto r = extract_patch(c, {4, 6, 6}, {4.5, 5.5, 6.5}, rot);
  EXPECT_TRUE(torch::equal(r.label, crop.label.rot90(1, {1, 2}))) << r.label << crop.label;
}

TEST(MakeSample, SameSeedSameSampleDifferentSeedDifferent) {
  const auto c = make_case();
  AugmentOptions o;
  o.p_rotation = o.p_scale = o.p_noise = 1.0;
  o.p_elastic = 1.0;
  const auto a = make_sample(c, {8, 8, 8}, o, 42), b = make_sample(c, {8, 8, 8}, o, 42);
  EXPECT_TRUE(torch::equal(a.image, b.image));
  EXPECT_TRUE(torch::equal(a.label, b.label));
  const auto d = make_sample(c, {8, 8, 8}, o, 43);
  EXPECT_FALSE(torch::equal(a.image, d.image));
  EXPECT_EQ(a.image.sizes(), (std::vector<int64_t>{1, 8, 8, 8}));
  EXPECT_EQ(a.label.sizes(), (std::vector<int64_t>{8, 8, 8}));
}

TEST(MakeSample, MirroringKeepsImageAndLabelAligned) {
  const auto c = make_case();
  AugmentOptions o;
  o.p_rotation = o.p_scale = o.p_noise = o.p_blur = o.p_brightness = o.p_contrast = o.p_lowres = o.p_gamma =
      o.p_gamma_inverted = 0;
  o.p_mirror = 1.0;
  o.p_force_foreground = 1.0;
  const auto s = make_sample(c, {8, 8, 8}, o, 5);
  EXPECT_TRUE(torch::equal((s.image[0] / 10).floor().to(torch::kLong), s.label));
  EXPECT_GT(s.label.sum().item<int64_t>(), 0);
}

TEST(MakeSample, ForegroundOversamplingShareIsAboutOneThird) {
  const auto c = make_case();
  AugmentOptions o;
  o.enabled = false;
  int forced = 0;
  for (uint64_t seed = 0; seed < 600; ++seed) forced += make_sample(c, {4, 4, 4}, o, seed).forced_foreground;
  EXPECT_NEAR(forced / 600.0, 1.0 / 3.0, 0.06);
}
