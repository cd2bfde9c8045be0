#include "voxseg/train/plan.h"

#include <gtest/gtest.h>

using namespace voxseg::train;

namespace {
Fingerprint make_fingerprint(std::vector<double> z_spacings, int64_t z_size, double inplane = 0.8, int64_t inplane_size = 512) {
  Fingerprint f;
  for (double z : z_spacings) {
    f.spacings_mm.push_back({z, inplane, inplane});
    f.sizes.push_back({z_size, inplane_size, inplane_size});
  }
  f.channel_names = {"CT"};
  ChannelStats s;
  s.mean = 50;
  s.std = 20;
  s.percentile_00_5 = -100;
  s.percentile_99_5 = 200;
  f.channels = {s};
  return f;
}
}  // namespace

TEST(TargetSpacing, IsotropicDataUseTheMedianSpacing) {
  auto f = make_fingerprint({1.0, 1.5, 2.0}, 100, 1.0, 100);
  f.spacings_mm[0][1] = 0.9;
  const auto t = target_spacing(f);
  EXPECT_DOUBLE_EQ(t[0], 1.5);
  EXPECT_DOUBLE_EQ(t[1], 1.0);
  EXPECT_DOUBLE_EQ(t[2], 1.0);
}

TEST(TargetSpacing, ThinAnisotropicDataUseThe10thPercentileAlongTheCoarseAxis) {
  // Median z spacing 5 mm > 3 x 0.8 mm and 30 slices * 3 < 512: nnU-Net's anisotropy rule applies.
  const auto f = make_fingerprint({3, 3, 4, 5, 5, 5, 5, 5, 5, 5}, 30);
  const auto t = target_spacing(f);
  EXPECT_NEAR(t[0], 3.0, 1e-9);  // np.percentile([3,3,4,5...], 10) = 3.0
  EXPECT_DOUBLE_EQ(t[1], 0.8);
}

TEST(TargetSpacing, AnisotropicButThickDataKeepTheMedian) {
  const auto f = make_fingerprint({3, 3, 4, 5, 5, 5, 5, 5, 5, 5}, 400);  // 400 slices: not thin
  EXPECT_DOUBLE_EQ(target_spacing(f)[0], 5.0);
}

TEST(TargetSpacing, NeverFinerThanTheInPlaneSpacing) {
  auto f = make_fingerprint({0.5, 5, 5, 5, 5}, 20, 0.8);
  EXPECT_GE(target_spacing(f)[0], 0.8);
}

TEST(Plan, PatchFitsTheMemoryBudgetAndIsDivisibleByTheStrides) {
  const auto f = make_fingerprint({1, 1, 1, 1}, 200, 1.0, 200);
  for (double gb : {0.25, 1.0, 4.0}) {
    PlanOptions o;
    o.memory_gb = gb;
    const auto p = make_plan(f, 3, o);
    EXPECT_LE(estimate_memory_gb(p.network, p.patch_size, o.min_batch), gb) << gb;
    std::array<int64_t, 3> div{1, 1, 1};
    for (const auto& s : p.network.strides)
      for (size_t a = 0; a < 3; ++a) div[a] *= s[a];
    for (size_t a = 0; a < 3; ++a) EXPECT_EQ(p.patch_size[a] % div[a], 0) << gb;
    EXPECT_GE(p.batch_size, 2);
  }
}

TEST(Plan, SmallerBudgetGivesASmallerPatch) {
  const auto f = make_fingerprint({1, 1, 1, 1}, 200, 1.0, 200);
  PlanOptions small, big;
  small.memory_gb = 0.2;
  big.memory_gb = 4;
  const auto a = make_plan(f, 2, small), b = make_plan(f, 2, big);
  EXPECT_LT(a.patch_size[0] * a.patch_size[1] * a.patch_size[2], b.patch_size[0] * b.patch_size[1] * b.patch_size[2]);
}

TEST(Plan, PatchNeverExceedsTheMedianImage) {
  const auto f = make_fingerprint({1, 1, 1}, 40, 1.0, 48);
  const auto p = make_plan(f, 2, PlanOptions{});
  EXPECT_LE(p.patch_size[0], 40);
  EXPECT_LE(p.patch_size[1], 48);
}

TEST(Plan, AnisotropicDataSkipPoolingAndKernelsAlongTheCoarseAxisFirst) {
  const auto f = make_fingerprint({5, 5, 5, 5}, 60, 0.8, 256);
  const auto p = make_plan(f, 2, PlanOptions{});
  EXPECT_TRUE(p.anisotropic);
  EXPECT_EQ(p.lowres_axis, 0);
  EXPECT_EQ(p.network.kernel_sizes[0][0], 1);  // 5 mm vs 0.8 mm: no 3-wide kernel along z at first
  EXPECT_EQ(p.network.strides[1][0], 1);       // and no pooling along z at first
  EXPECT_EQ(p.network.strides[1][1], 2);
}

TEST(Plan, PoolingStopsAtTheMinimumFeatureMap) {
  PlanOptions o;
  const auto net = plan_network({16, 16, 16}, {1, 1, 1}, 1, 2, o);
  // 16 -> 8 -> 4: two pools, then 4 < 2 * 4 stops.
  EXPECT_EQ(net.n_stages(), 3);
  EXPECT_EQ(net.features_per_stage, (std::vector<int64_t>{32, 64, 128}));
}

TEST(Plan, FeaturesAreCapped) {
  PlanOptions o;
  o.base_features = 8;
  o.max_features = 32;
  const auto net = plan_network({128, 128, 128}, {1, 1, 1}, 1, 2, o);
  EXPECT_EQ(net.features_per_stage.back(), 32);
  EXPECT_EQ(net.features_per_stage[0], 8);
}

TEST(Plan, BatchIsCappedAt5PercentOfTheDataset) {
  const auto f = make_fingerprint({1, 1}, 32, 1.0, 32);  // 2 x 32^3 voxels
  PlanOptions o;
  o.memory_gb = 100;
  const auto p = make_plan(f, 2, o);
  EXPECT_EQ(p.batch_size, o.min_batch);
}

TEST(Plan, NormalizationFollowsChannelNames) {
  EXPECT_EQ(normalization_scheme_for("CT"), "ct");
  EXPECT_EQ(normalization_scheme_for("ct"), "ct");
  EXPECT_EQ(normalization_scheme_for("T1"), "zscore");
  EXPECT_EQ(normalization_scheme_for("noNorm"), "none");
  const auto p = make_plan(make_fingerprint({1, 1}, 64, 1, 64), 2, PlanOptions{});
  ASSERT_EQ(p.normalization.size(), 1u);
  EXPECT_EQ(p.normalization[0].scheme, voxseg::preprocess::Normalization::CT);
  EXPECT_DOUBLE_EQ(p.normalization[0].lower, -100);
  EXPECT_DOUBLE_EQ(p.normalization[0].upper, 200);
}

TEST(Plan, JsonRoundTripAndEditsAreChecked) {
  const auto p = make_plan(make_fingerprint({1, 1, 2}, 64, 1, 64), 3, PlanOptions{});
  const auto back = plan_from_json(voxseg::Json::parse(plan_to_json(p).dump()));
  EXPECT_EQ(back.patch_size, p.patch_size);
  EXPECT_EQ(back.batch_size, p.batch_size);
  EXPECT_EQ(back.network.features_per_stage, p.network.features_per_stage);
  EXPECT_EQ(back.network.strides, p.network.strides);
  EXPECT_EQ(back.target_spacing_mm, p.target_spacing_mm);
  auto j = plan_to_json(p);
  j["patch_size"] = voxseg::Json(voxseg::Json::Array{voxseg::Json(3), voxseg::Json(64), voxseg::Json(64)});
  EXPECT_THROW(plan_from_json(j), std::invalid_argument);  // not divisible by the strides
}

TEST(ChannelStats, PercentilesInterpolateLinearly) {
  std::vector<float> v;
  for (int i = 0; i <= 1000; ++i) v.push_back(float(i));
  const auto s = channel_stats(v);
  EXPECT_NEAR(s.mean, 500, 1e-9);
  EXPECT_NEAR(s.median, 500, 1e-9);
  EXPECT_NEAR(s.percentile_00_5, 5, 1e-9);
  EXPECT_NEAR(s.percentile_99_5, 995, 1e-9);
  EXPECT_NEAR(s.std, std::sqrt((1001.0 * 1001.0 - 1) / 12.0), 1e-6);
}

TEST(Fingerprint, JsonRoundTrip) {
  const auto f = make_fingerprint({1, 2}, 10);
  const auto back = fingerprint_from_json(voxseg::Json::parse(fingerprint_to_json(f).dump()));
  EXPECT_EQ(back.sizes, f.sizes);
  EXPECT_EQ(back.spacings_mm, f.spacings_mm);
  EXPECT_DOUBLE_EQ(back.channels[0].percentile_99_5, 200);
}

// The plan is edited by users: a misspelt key is an error naming it, not silently ignored.
TEST(Plan, MisspeltKeysInAnEditedPlanAreRefusedByPath) {
  const auto p = make_plan(make_fingerprint({1, 1, 2}, 64, 1, 64), 3, PlanOptions{});
  const auto error_of = [](const voxseg::Json& j) -> std::string {
    try {
      plan_from_json(j, "training.plan");
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no error";
  };
  auto j = plan_to_json(p);
  j["batchsize"] = 4;
  EXPECT_EQ(error_of(j), "field 'training.plan.batchsize': unknown field (misspelt?)");
  j = plan_to_json(p);
  j["network"]["features"] = voxseg::Json::array();
  EXPECT_EQ(error_of(j), "field 'training.plan.network.features': unknown field (misspelt?)");
  j = plan_to_json(p);
  j["normalization"].as_array()[0]["clip_hi"] = 3.0;
  EXPECT_EQ(error_of(j), "field 'training.plan.normalization[0].clip_hi': unknown field (misspelt?)");
  j = plan_to_json(p);
  j["batch_size"] = 2.5;
  EXPECT_EQ(error_of(j), "field 'training.plan.batch_size': expected an integer, found 2.5");
}

// Plans written before the one normalization form (lower/upper, statistics for every scheme) still load.
TEST(Plan, OldNormalizationSpellingStillLoads) {
  const auto p = make_plan(make_fingerprint({1, 1, 2}, 64, 1, 64), 3, PlanOptions{});
  auto j = plan_to_json(p);
  j["normalization"] = voxseg::Json::parse(R"([{"scheme": "ct", "mean": 50.0, "std": 20.0, "lower": -100.0, "upper": 200.0}])");
  const auto back = plan_from_json(j);
  ASSERT_EQ(back.normalization.size(), 1u);
  EXPECT_EQ(back.normalization[0].scheme, voxseg::preprocess::Normalization::CT);
  EXPECT_DOUBLE_EQ(back.normalization[0].lower, -100);
  EXPECT_DOUBLE_EQ(back.normalization[0].upper, 200);
  EXPECT_EQ(plan_to_json(back)["normalization"].dump(), plan_to_json(p)["normalization"].dump());
}
