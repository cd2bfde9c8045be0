// Labels resampled back only where the network-grid winners around a voxel differ (LabelResampler)
// equal the argmax of every class resampled back (PredictOptions::resample_all_classes), for linear
// and nearest-along-z resampling, up- and downsampling, and many classes of a random U-Net (whose
// noisy logits put boundaries everywhere).
#include <gtest/gtest.h>

#include "test_nets.h"
#include "voxseg/infer/label_resampler.h"
#include "voxseg/infer/predictor.h"

namespace {

using voxseg::infer::Model;
using voxseg::infer::PredictOptions;

Model random_model(int64_t classes, std::array<double, 3> target_spacing_zyx) {
  Model m;
  m.networks = {testnets::native_unet(3, 1, classes, 41)};
  m.plan.channels = {voxseg::preprocess::NormalizeOptions{voxseg::preprocess::Normalization::ZScore}};
  m.plan.target_spacing = {target_spacing_zyx[0], target_spacing_zyx[1], target_spacing_zyx[2]};
  m.patch_size = {8, 16, 16};
  m.mirror_axes = {0, 1, 2};
  return m;
}

voxseg::Volume smooth_image(int64_t nx, int64_t ny, int64_t nz, std::array<double, 3> spacing_xyz) {
  torch::manual_seed(7);
  const at::Tensor noise = torch::randn({1, 1, nz / 2 + 1, ny / 2 + 1, nx / 2 + 1});
  const at::Tensor up = torch::upsample_trilinear3d(noise, {nz, ny, nx}, false);
  voxseg::Volume image{up[0][0] * 100 + 40, {}};
  image.geometry.size = {nx, ny, nz};
  image.geometry.spacing = spacing_xyz;
  return image;
}

void expect_same_labels(const voxseg::Volume& image, Model m) {
  PredictOptions all;
  all.resample_all_classes = true;
  all.tta = false;
  PredictOptions fast = all;
  fast.resample_all_classes = false;
  const auto a = voxseg::infer::predict_volume(image, m, all);
  const auto b = voxseg::infer::predict_volume(image, m, fast);
  ASSERT_EQ(a.labels.data.sizes(), b.labels.data.sizes());
  EXPECT_EQ(a.labels.data.ne(b.labels.data).sum().item<int64_t>(), 0);
  EXPECT_EQ(a.report.find("resample_back")->find("method")->as_string(), "all_classes");
  const auto* back = b.report.find("resample_back");
  EXPECT_EQ(back->find("method")->as_string(), "labels_at_boundaries");
  const double fraction = back->find("interpolated_fraction")->as_double();
  EXPECT_GT(fraction, 0.0);  // the random net's labels change from voxel to voxel somewhere
  EXPECT_LT(fraction, 1.0);
  // Both paths saw several labels (a constant prediction would test nothing).
  EXPECT_GT(std::get<0>(at::_unique(a.labels.data)).numel(), 3);
}

TEST(LabelResampler, EqualsEveryClassResampledWhenUpsampling) {
  // Network grid coarser than the input (2.0/1.6 mm from 1.2/0.9 mm): linear on all axes.
  expect_same_labels(smooth_image(37, 33, 21, {0.9, 0.9, 1.2}), random_model(12, {2.0, 1.6, 1.6}));
}

TEST(LabelResampler, EqualsEveryClassResampledWithNearestAlongZ) {
  // 0.7 x 0.7 x 3.5 mm is anisotropic (ratio > 3): nnU-Net resamples logits nearest along z.
  expect_same_labels(smooth_image(41, 35, 9, {0.7, 0.7, 3.5}), random_model(9, {3.5, 1.3, 1.3}));
}

TEST(LabelResampler, EqualsEveryClassResampledWhenDownsampling) {
  // Network grid finer than the input in-plane (taps read one sample, or blend two, per voxel).
  expect_same_labels(smooth_image(19, 17, 13, {1.5, 1.5, 1.5}), random_model(7, {1.1, 0.8, 0.8}));
}

TEST(LabelResampler, UniformNeighbourhoodsSkipInterpolation) {
  // One class wins everywhere: nothing is interpolated and every voxel gets its label value.
  const std::vector<int64_t> values{0, 5, 9};
  at::Tensor logits = torch::zeros({3, 4, 6, 5});
  logits[2].fill_(1.0f);
  at::Tensor out = torch::full({7, 11, 9}, -1, torch::kLong);
  voxseg::infer::LabelResampler r({4, 6, 5}, {7, 11, 9}, {1, 1, 1}, values,
                                  [&](int64_t z, const at::Tensor& lab) { out[z].copy_(lab); });
  for (int64_t z = 0; z < 4; ++z) r.push(z, logits.select(1, z));
  EXPECT_EQ(r.emitted(), 7);
  EXPECT_EQ(r.interpolated_voxels(), 0);
  EXPECT_TRUE(torch::equal(out, torch::full({7, 11, 9}, 9, torch::kLong)));
}

}  // namespace
