// preprocess_case reads the input once (crop box without a mask, crop and transposition as views,
// one converting and normalizing pass that writes float32): it must give the bytes of the step-by-step
// pipeline it replaced (mask, crop copy, float copy per channel, stack, resample), kept in
// bench/preprocess_reference.h as the reference.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../../../bench/preprocess_reference.h"
#include "voxseg/core/error.h"
#include "voxseg/preprocess/plan.h"

using namespace voxseg::preprocess;

namespace {

// The pipeline before fusion, from the public building blocks (shared with bench/predict_bench).
Preprocessed reference(const voxseg::Volume& image, const Plan& plan) {
  return voxseg::bench::step_by_step_preprocess(image, plan);
}

void expect_same(const voxseg::Volume& image, const Plan& plan, const std::string& what) {
  const Preprocessed a = preprocess_case(image, plan);
  const Preprocessed b = reference(image, plan);
  EXPECT_EQ(a.box.begin, b.box.begin) << what;
  EXPECT_EQ(a.box.end, b.box.end) << what;
  EXPECT_EQ(a.shape_before_crop, b.shape_before_crop) << what;
  EXPECT_EQ(a.resample_orders, b.resample_orders) << what;
  ASSERT_EQ(a.data.sizes(), b.data.sizes()) << what;
  EXPECT_EQ(a.data.scalar_type(), at::kFloat) << what;
  EXPECT_TRUE(a.data.is_contiguous()) << what;
  EXPECT_TRUE(torch::equal(a.data, b.data)) << what << ": max |difference| "
                                            << (a.data - b.data).abs().max().item<float>();
}

// A body in a zero frame (cropped away) with a zero cavity inside (a hole the mask fills).
at::Tensor body(int64_t nz, int64_t ny, int64_t nx, at::ScalarType type, double scale, double offset) {
  at::Tensor v = torch::randn({nz, ny, nx}, torch::kDouble) * scale + offset;
  at::Tensor out = torch::zeros({nz, ny, nx}, torch::kDouble);
  out.slice(0, 1, nz - 1).slice(1, 2, ny - 1).slice(2, 1, nx - 3).copy_(
      v.slice(0, 1, nz - 1).slice(1, 2, ny - 1).slice(2, 1, nx - 3));
  out.slice(0, nz / 2 - 1, nz / 2 + 1).slice(1, ny / 2 - 1, ny / 2 + 1).slice(2, nx / 2 - 1, nx / 2 + 1).zero_();
  return type == at::kDouble ? out : out.round().to(type);
}

voxseg::Volume volume(at::Tensor data, std::array<double, 3> spacing_xyz) {
  voxseg::Volume v{std::move(data), {}};
  const int64_t d = v.data.dim();
  v.geometry.size = {v.data.size(d - 1), v.data.size(d - 2), v.data.size(d - 3)};
  v.geometry.spacing = spacing_xyz;
  return v;
}

Plan plan_with(std::vector<NormalizeOptions> channels, std::vector<double> target, std::array<int, 3> t = {0, 1, 2}) {
  Plan p;
  p.channels = std::move(channels);
  p.target_spacing = std::move(target);
  p.transpose_forward = t;
  return p;
}

NormalizeOptions ct() {
  NormalizeOptions o;
  o.scheme = Normalization::CT;
  o.mean = 40, o.std = 310, o.lower = -1000, o.upper = 1500;
  return o;
}

}  // namespace

TEST(FusedPreprocess, Int16CtWithCubicAndSeparateZResamplingIsBitIdentical) {
  torch::manual_seed(1);
  const auto image = volume(body(9, 23, 19, at::kShort, 600, -100), {0.8, 0.8, 3.2});
  for (std::array<int, 3> t : {std::array<int, 3>{0, 1, 2}, std::array<int, 3>{2, 0, 1}, std::array<int, 3>{1, 2, 0}})
    expect_same(image, plan_with({ct()}, {1.5, 1.1, 1.3}, t), "CT transpose " + std::to_string(t[0]));
  expect_same(image, plan_with({ct()}, {}), "CT without resampling");
  Plan linear = plan_with({ct()}, {2.0, 1.6, 1.6});
  linear.image_resampling.order = 1;
  expect_same(image, linear, "CT linear");
}

TEST(FusedPreprocess, MaskedZScoreRescaleAndNoneOnFloatChannels) {
  torch::manual_seed(2);
  at::Tensor a = body(8, 14, 16, at::kDouble, 50, 300).to(at::kFloat);
  at::Tensor b = body(8, 14, 16, at::kDouble, 3, -7).to(at::kFloat);
  b.select(0, 4).zero_();  // a zero slice inside: the mask is the union of both channels
  at::Tensor c = torch::rand({8, 14, 16}) * a.ne(0);
  const auto image = volume(torch::stack({a, b, c}, 0), {1.1, 0.9, 1.7});
  NormalizeOptions masked;
  masked.use_mask = true;
  NormalizeOptions rescale;
  rescale.scheme = Normalization::RescaleTo01;
  for (std::array<int, 3> t : {std::array<int, 3>{0, 1, 2}, std::array<int, 3>{2, 1, 0}}) {
    expect_same(image, plan_with({masked, rescale, NormalizeOptions{Normalization::None}}, {1.2, 1.0, 1.0}, t),
                "masked z-score");
    expect_same(image, plan_with({NormalizeOptions{}, masked, rescale}, {}, t), "z-score, no resampling");
  }
  NormalizeOptions fixed;
  fixed.fixed_stats = true, fixed.mean = 3.5, fixed.std = 0.25;
  Plan whole = plan_with({fixed, NormalizeOptions{}, rescale}, {1.0, 1.0, 1.0});
  whole.crop_to_nonzero = false;
  expect_same(image, whole, "no crop");
}

TEST(FusedPreprocess, IntegerAndDoubleInputsKeepTheirValues) {
  torch::manual_seed(3);
  expect_same(volume(body(6, 10, 12, at::kInt, 3000, 20000), {1, 1, 1}), plan_with({NormalizeOptions{}}, {1.3, 0.7, 1}),
              "int32 (uint16 on disk)");
  expect_same(volume(body(6, 10, 12, at::kLong, 1e6, 0), {1, 1, 1}), plan_with({ct()}, {}), "int64");
  expect_same(volume(body(6, 10, 12, at::kDouble, 1e3, 1.0 / 3), {0.7, 0.7, 2.5}), plan_with({NormalizeOptions{}}, {1, 1, 1}),
              "double");
  at::Tensor rgb = torch::randint(0, 256, {3, 5, 9, 11}).to(at::kByte);
  NormalizeOptions rgb01;
  rgb01.scheme = Normalization::RGBTo01;
  expect_same(volume(rgb, {1, 1, 1}), plan_with({rgb01, rgb01, rgb01}, {}), "uint8 RGB");
  expect_same(volume(rgb.to(at::kChar), {1, 1, 1}), plan_with({}, {}), "int8 without normalization options");
  // A 2D image (one slice): no hole filling, as nnU-Net.
  expect_same(volume(body(3, 12, 10, at::kShort, 100, 5).narrow(0, 1, 1), {0.5, 0.5, 1}), plan_with({ct()}, {1, 1, 1}),
              "one slice");
}

TEST(FusedPreprocess, EmptyVolumeAndOneSliceCropKeepTheirBoxes) {
  const auto empty = volume(torch::zeros({4, 5, 6}, torch::kShort), {1, 1, 1});
  NormalizeOptions masked;
  masked.use_mask = true;
  expect_same(empty, plan_with({masked}, {}), "empty");
  at::Tensor thin = torch::zeros({6, 7, 8});
  thin.select(0, 3).slice(0, 1, 6).slice(1, 2, 7).fill_(2.5);
  thin[3][3][4] = 0;  // enclosed in-plane, but open above and below: not a hole
  thin[3][2][2] = -1;
  expect_same(volume(thin, {1, 1, 1}), plan_with({masked}, {}), "one-slice crop");
}

TEST(FusedPreprocess, ErrorsAreThoseOfTheStepByStepPipeline) {
  at::Tensor bad = torch::full({2, 3, 4}, 300.0f);
  NormalizeOptions rgb01;
  rgb01.scheme = Normalization::RGBTo01;
  try {
    preprocess_case(volume(bad, {1, 1, 1}), plan_with({rgb01}, {}));
    FAIL() << "expected an error";
  } catch (const voxseg::Error& e) {
    EXPECT_EQ(e.code(), voxseg::ExitCode::BadInput);
    EXPECT_NE(std::string(e.what()).find("[0, 255]"), std::string::npos) << e.what();
  }
  NormalizeOptions masked;
  masked.use_mask = true;
  Plan p = plan_with({masked}, {});
  p.crop_to_nonzero = false;
  EXPECT_THROW(preprocess_case(volume(bad, {1, 1, 1}), p), voxseg::Error);
}

TEST(NonzeroBox, EqualsTheBoxOfTheFilledMaskOnStridedViews) {
  torch::manual_seed(4);
  for (int trial = 0; trial < 20; ++trial) {
    at::Tensor d = (torch::rand({2, 7, 9, 11}) > 0.97).to(at::kShort) * torch::randint(1, 5, {2, 7, 9, 11}).to(at::kShort);
    for (const at::Tensor& view : {d, d.permute({0, 3, 1, 2}), d.narrow(2, 1, 6).narrow(3, 2, 8)}) {
      const BoundingBox a = nonzero_box(view);
      const BoundingBox b = bounding_box(nonzero_mask(view));
      EXPECT_EQ(a.begin, b.begin) << trial;
      EXPECT_EQ(a.end, b.end) << trial;
    }
  }
}
