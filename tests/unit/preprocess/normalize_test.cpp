#include "voxseg/preprocess/normalize.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "voxseg/preprocess/plan.h"

using namespace voxseg::preprocess;

namespace {
at::Tensor row(std::vector<float> v) { return torch::tensor(v).view({1, 1, int64_t(v.size())}); }
}  // namespace

TEST(Normalize, CtClipsToPercentilesThenZScoresWithDatasetStats) {
  NormalizeOptions o;
  o.scheme = Normalization::CT;
  o.lower = -1000, o.upper = 1000, o.mean = 100, o.std = 50;
  const at::Tensor out = normalize_channel(row({-2000, -100, 0, 50, 3000}), o);
  const std::vector<float> want{-22, -4, -2, -1, 18};  // (clip(x) - 100) / 50 by hand
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(out.view(-1)[int64_t(i)].item<float>(), want[i]) << i;
}

TEST(Normalize, CtStdFloorAvoidsDivisionByZero) {
  NormalizeOptions o;
  o.scheme = Normalization::CT;
  o.lower = 0, o.upper = 10, o.mean = 5, o.std = 0;
  const at::Tensor out = normalize_channel(row({5, 6}), o);
  EXPECT_FLOAT_EQ(out.view(-1)[0].item<float>(), 0.0f);
  EXPECT_NEAR(out.view(-1)[1].item<float>(), 1e8, 1e2);
}

TEST(Normalize, ZScoreWholeImageUsesPopulationStd) {
  NormalizeOptions o;  // zscore
  const at::Tensor out = normalize_channel(row({1, 3}), o);  // mean 2, std 1
  EXPECT_FLOAT_EQ(out.view(-1)[0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(out.view(-1)[1].item<float>(), 1.0f);
}

TEST(Normalize, ZScoreWithinMaskLeavesOutsideUntouched) {
  NormalizeOptions o;
  o.use_mask = true;
  const at::Tensor in = row({0, 2, 4, 6, 0, 7});
  const at::Tensor mask = row({0, 1, 1, 1, 0, 0}).to(torch::kBool);
  const at::Tensor out = normalize_channel(in, o, mask).view(-1);
  const double sd = std::sqrt(8.0 / 3.0);  // values 2,4,6: mean 4, population variance 8/3
  EXPECT_NEAR(out[1].item<float>(), -2 / sd, 1e-6);
  EXPECT_NEAR(out[2].item<float>(), 0, 1e-6);
  EXPECT_NEAR(out[3].item<float>(), 2 / sd, 1e-6);
  EXPECT_EQ(out[0].item<float>(), 0);
  EXPECT_EQ(out[5].item<float>(), 7);  // outside the mask: unchanged
}

TEST(Normalize, RescaleTo01AndRgb) {
  NormalizeOptions o;
  o.scheme = Normalization::RescaleTo01;
  const at::Tensor a = normalize_channel(row({-10, 0, 30}), o).view(-1);
  EXPECT_FLOAT_EQ(a[0].item<float>(), 0);
  EXPECT_FLOAT_EQ(a[1].item<float>(), 0.25f);
  EXPECT_FLOAT_EQ(a[2].item<float>(), 1);
  o.scheme = Normalization::RGBTo01;
  EXPECT_FLOAT_EQ(normalize_channel(row({51}), o).view(-1)[0].item<float>(), 0.2f);
  EXPECT_THROW(normalize_channel(row({300}), o), voxseg::Error);
}

TEST(Normalize, ParsesNnUNetClassNames) {
  EXPECT_EQ(parse_normalization("CTNormalization"), Normalization::CT);
  EXPECT_EQ(parse_normalization("ZScoreNormalization"), Normalization::ZScore);
  EXPECT_EQ(parse_normalization("rescale01"), Normalization::RescaleTo01);
  EXPECT_EQ(parse_normalization("NoNormalization"), Normalization::None);
  EXPECT_THROW(parse_normalization("histogram"), std::invalid_argument);
}

TEST(Preprocess, CropsToNonzeroAndZScoresInsideTheFilledMask) {
  // A 6x6x6 volume whose non-zero region is a shell 1..4 with a zero hole at its centre.
  at::Tensor v = torch::zeros({6, 6, 6});
  v.slice(0, 1, 5).slice(1, 1, 5).slice(2, 1, 5).fill_(10);
  v.slice(0, 1, 5).slice(1, 1, 5).slice(2, 1, 5).index_put_({0, 0, 0}, 30.0f);  // one bright voxel at (1,1,1)
  v.index_put_({2, 2, 2}, 0.0f);                                                  // enclosed hole
  voxseg::Volume image{v, {}};
  Plan plan;
  NormalizeOptions o;
  o.use_mask = true;
  plan.channels = {o};
  const Preprocessed p = preprocess_case(image, plan);
  EXPECT_EQ(p.box.begin, (std::array<int64_t, 3>{1, 1, 1}));
  EXPECT_EQ(p.box.end, (std::array<int64_t, 3>{5, 5, 5}));
  ASSERT_EQ(p.data.sizes(), (std::vector<int64_t>{1, 4, 4, 4}));
  // Mask = 64 voxels (hole filled): values 30 (1), 0 (1), 10 (62).
  const double mean = (30 + 0 + 620) / 64.0;
  const double var = ((30 - mean) * (30 - mean) + mean * mean + 62 * (10 - mean) * (10 - mean)) / 64.0;
  EXPECT_NEAR(p.data[0][1][1][1].item<float>(), (0 - mean) / std::sqrt(var), 1e-5);  // the hole was normalized
  EXPECT_NEAR(p.data[0][0][0][0].item<float>(), (30 - mean) / std::sqrt(var), 1e-5);
}

TEST(Preprocess, TwoDimensionalPlanKeepsOutOfPlaneSpacing) {
  voxseg::Volume image{torch::ones({10, 8, 8}), {}};
  image.geometry.size = {8, 8, 10};
  image.geometry.spacing = {1.0, 1.0, 5.0};
  Plan plan;
  plan.dims = 2;
  plan.crop_to_nonzero = false;
  plan.channels = {NormalizeOptions{Normalization::None}};
  plan.target_spacing = {0.5, 0.5};
  const Preprocessed p = preprocess_case(image, plan);
  EXPECT_EQ(p.data.sizes(), (std::vector<int64_t>{1, 10, 16, 16}));
  EXPECT_DOUBLE_EQ(p.target_spacing[0], 5.0);
}

TEST(Preprocess, RejectsWrongChannelCount) {
  voxseg::Volume image{torch::ones({2, 4, 4, 4}), {}};
  Plan plan;
  plan.channels = {NormalizeOptions{}};
  try {
    preprocess_case(image, plan);
    FAIL() << "no error";
  } catch (const voxseg::Error& e) {
    EXPECT_EQ(e.code(), voxseg::ExitCode::BadInput);
    EXPECT_NE(std::string(e.what()).find("expects 1 channel"), std::string::npos);
  }
}
