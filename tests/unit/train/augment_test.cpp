#include "voxseg/train/augment.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include <cmath>

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

namespace {
// Three foreground classes of very different sizes, like liver / kidney / tumour: 4000, 250 and 16
// voxels; class 4 is declared but absent.
CaseArrays make_imbalanced_case() {
  CaseArrays c;
  auto lab = torch::zeros({24, 40, 40}, torch::kUInt8);
  lab.slice(0, 2, 12).slice(1, 0, 20).slice(2, 0, 20).fill_(1);     // 4000
  lab.slice(0, 14, 24).slice(1, 30, 35).slice(2, 30, 35).fill_(2);  // 250
  lab.slice(0, 4, 8).slice(1, 24, 26).slice(2, 24, 26).fill_(3);    // 16
  c.label = lab;
  c.image = lab.to(torch::kFloat).unsqueeze(0);
  c.fg_locations = foreground_locations(lab, 5, 1000, 3, &c.class_voxels);
  return c;
}

// Share of `n` forced centres that land on each class 1..4.
std::array<double, 4> centre_class_shares(const CaseArrays& c, ClassSampling sampling, int n) {
  std::array<double, 4> share{};
  for (int i = 0; i < n; ++i) {
    const auto p = choose_centre(c, {8, 8, 8}, true, mix_seed(77, uint64_t(i)), sampling);
    const int cls = c.label[int64_t(p[0])][int64_t(p[1])][int64_t(p[2])].item<int>();
    EXPECT_GE(cls, 1);
    if (cls >= 1) share[size_t(cls - 1)] += 1.0 / n;
  }
  return share;
}
}  // namespace

TEST(ClassSampling, CountsEveryVoxelEvenWhenPositionsAreSubsampled) {
  const auto c = make_imbalanced_case();
  ASSERT_EQ(c.class_voxels.size(), 4u);
  EXPECT_EQ(c.class_voxels[0], 4000);
  EXPECT_EQ(c.fg_locations[0].size(0), 1000);  // capped
  EXPECT_EQ(c.class_voxels[1], 250);
  EXPECT_EQ(c.class_voxels[2], 16);
  EXPECT_EQ(c.class_voxels[3], 0);
}

TEST(ClassSampling, ProbabilitiesAreUniformOrInverseSqrtOverPresentClasses) {
  const auto c = make_imbalanced_case();
  const auto u = centre_class_probabilities(c, ClassSampling::Uniform);
  ASSERT_EQ(u.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(u[size_t(i)], 1.0 / 3.0);
  EXPECT_EQ(u[3], 0.0);  // absent class never chosen
  const auto r = centre_class_probabilities(c, ClassSampling::Rare);
  const double w1 = 1 / std::sqrt(4000.0), w2 = 1 / std::sqrt(250.0), w3 = 1 / 4.0, sum = w1 + w2 + w3;
  EXPECT_NEAR(r[0], w1 / sum, 1e-12);
  EXPECT_NEAR(r[1], w2 / sum, 1e-12);
  EXPECT_NEAR(r[2], w3 / sum, 1e-12);  // ~0.77: the 16-voxel "tumour" dominates
  EXPECT_EQ(r[3], 0.0);
  CaseArrays empty = c;
  for (auto& l : empty.fg_locations) l = torch::zeros({0, 3}, torch::kLong);
  for (const double v : centre_class_probabilities(empty, ClassSampling::Rare)) EXPECT_EQ(v, 0.0);
}

TEST(ClassSampling, ForcedCentresFollowTheClassProbabilities) {
  // 4000 draws: the standard error of a share near 1/3 is ~0.0075, so 0.03 is 4 standard errors.
  const auto c = make_imbalanced_case();
  for (const auto sampling : {ClassSampling::Uniform, ClassSampling::Rare}) {
    const auto expected = centre_class_probabilities(c, sampling);
    const auto share = centre_class_shares(c, sampling, 4000);
    for (size_t i = 0; i < 4; ++i)
      EXPECT_NEAR(share[i], expected[i], 0.03) << class_sampling_name(sampling) << " class " << i + 1;
  }
  // Without forcing, centres follow area: the small class is rarely the centre (a control that the
  // counting above can tell the difference).
  int tumour = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto p = choose_centre(c, {8, 8, 8}, false, mix_seed(5, uint64_t(i)), ClassSampling::Rare);
    tumour += c.label[int64_t(p[0])][int64_t(p[1])][int64_t(p[2])].item<int>() == 3;
  }
  EXPECT_LT(tumour, 20);
}

TEST(ClassSampling, MakeSampleForcesTheRequestedShareAndNamesParse) {
  const auto c = make_imbalanced_case();
  AugmentOptions o;
  o.enabled = false;
  o.p_force_foreground = 0.5;
  o.class_sampling = ClassSampling::Rare;
  int forced = 0;
  for (uint64_t s = 0; s < 1000; ++s) forced += make_sample(c, {8, 8, 8}, o, s).forced_foreground;
  EXPECT_NEAR(forced / 1000.0, 0.5, 0.05);
  EXPECT_EQ(parse_class_sampling("rare"), ClassSampling::Rare);
  EXPECT_EQ(class_sampling_name(parse_class_sampling("uniform")), "uniform");
  EXPECT_THROW(parse_class_sampling("balanced"), std::invalid_argument);
}

namespace {
// One class with a big (6x6x6 = 216 voxels) and a small (2x2x2 = 8 voxels) lesion, like a 50 ml and
// a 2 ml tumour, and a second single-component class.
CaseArrays make_two_lesion_case() {
  CaseArrays c;
  auto lab = torch::zeros({16, 20, 20}, torch::kUInt8);
  lab.slice(0, 1, 7).slice(1, 1, 7).slice(2, 1, 7).fill_(1);        // big lesion
  lab.slice(0, 10, 12).slice(1, 14, 16).slice(2, 14, 16).fill_(1);  // small lesion, apart
  lab.slice(0, 12, 16).slice(1, 0, 4).slice(2, 16, 20).fill_(2);
  c.label = lab;
  c.image = lab.to(torch::kFloat).unsqueeze(0);
  c.fg_locations = foreground_locations(lab, 3, 1000, 3, &c.class_voxels);
  c.fg_components = foreground_components(lab, c.fg_locations);
  return c;
}
}  // namespace

TEST(ClassSampling, ForegroundComponentsGroupTheRowsOfEachLesion) {
  const auto c = make_two_lesion_case();
  ASSERT_EQ(c.fg_components.size(), 2u);
  ASSERT_EQ(c.fg_components[0].size(), 2u);  // raster order: the big lesion first
  EXPECT_EQ(c.fg_components[0][0].size(), 216u);
  EXPECT_EQ(c.fg_components[0][1].size(), 8u);
  ASSERT_EQ(c.fg_components[1].size(), 1u);
  EXPECT_EQ(c.fg_components[1][0].size(), 64u);
  for (const int64_t r : c.fg_components[0][1]) EXPECT_GE(c.fg_locations[0][r][0].item<int64_t>(), 10);
}

TEST(ClassSampling, LesionSamplingCentresEachComponentEqually) {
  // Rare picks a voxel of the class, so the 8-voxel lesion gets 8/224 of class-1 centres; Lesion gives
  // it half. Class 1 vs 2 follows the Rare probabilities in both.
  const auto c = make_two_lesion_case();
  EXPECT_EQ(centre_class_probabilities(c, ClassSampling::Lesion), centre_class_probabilities(c, ClassSampling::Rare));
  for (const auto sampling : {ClassSampling::Rare, ClassSampling::Lesion}) {
    int small = 0, class1 = 0;
    for (int i = 0; i < 3000; ++i) {
      const auto p = choose_centre(c, {8, 8, 8}, true, mix_seed(11, uint64_t(i)), sampling);
      const int cls = c.label[int64_t(p[0])][int64_t(p[1])][int64_t(p[2])].item<int>();
      ASSERT_GE(cls, 1);
      if (cls == 1) {
        ++class1;
        small += p[0] >= 10;
      }
    }
    const double share = double(small) / class1;
    if (sampling == ClassSampling::Lesion)
      EXPECT_NEAR(share, 0.5, 0.05);
    else
      EXPECT_NEAR(share, 8.0 / 224.0, 0.02);
  }
  EXPECT_EQ(parse_class_sampling("lesion"), ClassSampling::Lesion);
  EXPECT_EQ(class_sampling_name(ClassSampling::Lesion), "lesion");
}
