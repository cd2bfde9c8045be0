#include "voxseg/infer/predictor.h"

#include <gtest/gtest.h>

#include "test_nets.h"
#include "voxseg/core/error.h"

using voxseg::Geometry;
using voxseg::Volume;
using voxseg::infer::Model;
using voxseg::infer::predict_volume;
using voxseg::infer::PredictOptions;
using voxseg::preprocess::Normalization;
using voxseg::preprocess::NormalizeOptions;

namespace {

Model sign_model(int dims, std::vector<int64_t> patch) {
  Model m;
  m.networks = {testnets::sign_net(dims)};
  m.plan.dims = dims;
  m.plan.channels = {NormalizeOptions{Normalization::None}};
  m.patch_size = std::move(patch);
  for (size_t a = 0; a < m.patch_size.size(); ++a) m.mirror_axes.push_back(int64_t(a));
  return m;
}

// A blob (positive inside an ellipsoid, negative elsewhere) surrounded by a zero border.
Volume blob(int64_t nz, int64_t ny, int64_t nx, Geometry g) {
  at::Tensor z = torch::linspace(-1, 1, nz).view({nz, 1, 1});
  at::Tensor y = torch::linspace(-1, 1, ny).view({1, ny, 1});
  at::Tensor x = torch::linspace(-1, 1, nx).view({1, 1, nx});
  at::Tensor v = 0.5 - (z * z + y * y + x * x);
  at::Tensor out = torch::zeros({nz, ny, nx});
  out.slice(0, 1, nz - 1).slice(1, 1, ny - 1).slice(2, 1, nx - 1).copy_(v.slice(0, 1, nz - 1).slice(1, 1, ny - 1).slice(2, 1, nx - 1));
  g.size = {nx, ny, nz};
  return Volume{out, g};
}

Geometry oblique_anisotropic() {
  Geometry g;
  g.spacing = {0.7, 0.9, 3.0};
  g.origin = {-12.5, 30.25, 7};
  const double c = std::cos(0.3), s = std::sin(0.3);
  g.direction = {c, -s, 0, s, c, 0, 0, 0, 1};
  return g;
}

}  // namespace

TEST(Predict, LabelsKeepTheInputGeometryAndValuesWithoutResampling) {
  Model m = sign_model(3, {16, 16, 16});  // larger than the image: padding
  const Volume image = blob(7, 13, 11, oblique_anisotropic());
  const auto p = predict_volume(image, m, PredictOptions{});
  ASSERT_EQ(p.labels.data.sizes(), image.data.sizes());
  EXPECT_EQ(p.labels.data.scalar_type(), at::kByte);
  EXPECT_TRUE(voxseg::same_geometry(p.labels.geometry, image.geometry, 0));
  EXPECT_TRUE(torch::equal(p.labels.data, image.data.gt(0).to(at::kByte)));
  EXPECT_EQ(p.report.find("tiles")->as_int(), 1);
}

TEST(Predict, ResamplingRoundTripKeepsGeometryAndStreamingIsByteIdentical) {
  Model m = sign_model(3, {8, 16, 16});
  m.plan.target_spacing = {1.2, 1.1, 1.3};  // z, y, x: z is upsampled (3.0 -> 1.2), anisotropic rule applies
  Volume image = blob(9, 31, 27, oblique_anisotropic());
  PredictOptions o;
  o.save_probabilities = true;
  o.batch_size = 2;
  const auto a = predict_volume(image, m, o);
  o.stream = false;
  const auto b = predict_volume(image, m, o);
  ASSERT_EQ(a.labels.data.sizes(), image.data.sizes());
  EXPECT_TRUE(voxseg::same_geometry(a.labels.geometry, image.geometry, 0));
  EXPECT_TRUE(torch::equal(a.labels.data, b.labels.data));
  EXPECT_TRUE(torch::equal(a.probabilities.data, b.probabilities.data));
  EXPECT_TRUE(a.report.find("streamed")->as_bool());
  EXPECT_LT(a.report.find("accumulator_slices_max")->as_int(), a.report.find("network_shape")->as_array()[0].as_int());
  // Probabilities: [K,Z,Y,X], sum to one; labels agree with the thresholded blob almost everywhere.
  EXPECT_EQ(a.probabilities.data.sizes(), (std::vector<int64_t>{2, 9, 31, 27}));
  EXPECT_TRUE(torch::allclose(a.probabilities.data.sum(0), torch::ones({9, 31, 27}), 1e-5, 1e-5));
  const double agree = a.labels.data.eq(image.data.gt(0).to(at::kByte)).to(at::kFloat).mean().item<double>();
  EXPECT_GT(agree, 0.97);
}

TEST(Predict, TwoDimensionalImage) {
  Model m = sign_model(2, {16, 16});
  Geometry g;
  g.dims = 2;
  g.spacing = {0.5, 0.8, 1};
  Volume image = blob(3, 21, 9, g);  // take the middle slice as a 2D image
  image.data = image.data.slice(0, 1, 2).contiguous();
  image.geometry.size = {9, 21, 1};
  m.plan.target_spacing = {0.4, 0.4};
  const auto p = predict_volume(image, m, PredictOptions{});
  ASSERT_EQ(p.labels.data.sizes(), image.data.sizes());
  EXPECT_TRUE(voxseg::same_geometry(p.labels.geometry, image.geometry, 0));
  EXPECT_GT(p.labels.data.sum().item<int64_t>(), 10);
}

TEST(Predict, TwoDimensionalModelAlongAnotherSliceAxisEqualsPermutedInput) {
  auto net = testnets::conv_net(1, 3, 3, 2, 11);
  Model m;
  m.networks = {net};
  m.plan.dims = 2;
  m.plan.crop_to_nonzero = false;
  m.plan.channels = {NormalizeOptions{Normalization::None}};
  m.patch_size = {8, 8};
  m.mirror_axes = {0, 1};
  torch::manual_seed(5);
  Volume image{torch::randn({6, 10, 12}), Geometry{}};
  image.geometry.size = {12, 10, 6};
  Model along_x = m;
  along_x.plan.transpose_forward = {2, 0, 1};
  const auto a = predict_volume(image, along_x, PredictOptions{});
  Volume permuted{image.data.permute({2, 0, 1}).contiguous(), Geometry{}};
  permuted.geometry.size = {10, 6, 12};
  const auto b = predict_volume(permuted, m, PredictOptions{});
  EXPECT_TRUE(torch::equal(a.labels.data, b.labels.data.permute({1, 2, 0})));
}

TEST(Predict, ThreeDimensionalModelRefusesA2DImage) {
  Model m = sign_model(3, {8, 8, 8});
  Geometry g;
  g.dims = 2;
  Volume image{torch::ones({1, 8, 8}), g};
  try {
    predict_volume(image, m, PredictOptions{});
    FAIL();
  } catch (const voxseg::Error& e) {
    EXPECT_EQ(e.code(), voxseg::ExitCode::BadInput);
  }
}

TEST(Predict, LabelValuesAndPostprocessing) {
  Model m = sign_model(3, {8, 8, 8});
  m.output.values = {0, 300};  // > 255: int32 map (written as uint16)
  at::Tensor v = -torch::ones({8, 8, 8});
  v.slice(0, 1, 4).slice(1, 1, 4).slice(2, 1, 4).fill_(1);  // 27 voxels
  v.index_put_({6, 6, 6}, 1.0f);                          // an isolated voxel
  Volume image{v, Geometry{}};
  image.geometry.size = {8, 8, 8};
  PredictOptions o;
  o.postprocess.largest_component = true;
  const auto p = predict_volume(image, m, o);
  EXPECT_EQ(p.labels.data.scalar_type(), at::kInt);
  EXPECT_EQ(p.labels.data.eq(300).sum().item<int64_t>(), 27);
  EXPECT_EQ(p.labels.data[6][6][6].item<int>(), 0);
}
