// Mirroring TTA with the mirrored copies of a tile batch in one forward pass gives what one pass per
// mirror gives: logits within float32 rounding of the network's own batch-size paths, labels equal.
#include <gtest/gtest.h>

#include "test_nets.h"
#include "voxseg/infer/predictor.h"
#include "voxseg/infer/sliding_window.h"

using testnets::native_unet;
using voxseg::infer::mirror_copies_per_forward;
using voxseg::infer::sliding_window_logits;
using voxseg::infer::WindowOptions;
using voxseg::infer::WindowStats;
using Nets = std::vector<std::shared_ptr<voxseg::models::Network>>;

namespace {

// Largest difference relative to the logits' scale.
float relative_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<float>() / std::max(1.0f, b.abs().max().item<float>());
}

struct Runs {
  at::Tensor sequential, batched, uneven;
  WindowStats s_seq, s_all, s_uneven;
};

Runs run_three_ways(const at::Tensor& image, const Nets& nets, WindowOptions o) {
  Runs r;
  o.mirror = true;
  o.mirror_batch = 1;
  r.sequential = sliding_window_logits(image, nets, o, &r.s_seq);
  o.mirror_batch = 8;  // all mirrors at once (clamped to the combinations; auto is 1 on the CPU)
  r.batched = sliding_window_logits(image, nets, o, &r.s_all);
  o.mirror_batch = 3;  // 3 + 3 + 2 copies
  r.uneven = sliding_window_logits(image, nets, o, &r.s_uneven);
  return r;
}

}  // namespace

TEST(MirrorBatch, CopiesPerForwardFollowTheRequestAndTheBudget) {
  EXPECT_EQ(mirror_copies_per_forward(0, 1, 1, 1 << 30, 100, "cuda"), 1);  // no mirroring: one copy
  EXPECT_EQ(mirror_copies_per_forward(1, 8, 1, 64 * 64 * 64, 2, "cuda"), 1);
  EXPECT_EQ(mirror_copies_per_forward(3, 8, 4, 64 * 64 * 64, 2, "cuda"), 3);
  EXPECT_EQ(mirror_copies_per_forward(20, 8, 1, 64 * 64 * 64, 2, "cuda"), 8);
  // Auto: 64^3 tiles with few classes: all 8 (8 x 262144 x 32 x 4 B = 256 MiB of the 512 MiB budget).
  EXPECT_EQ(mirror_copies_per_forward(0, 8, 1, 64 * 64 * 64, 3, "cuda"), 8);
  // 128^3: one copy is 256 MiB at 32 features, two fit exactly.
  EXPECT_EQ(mirror_copies_per_forward(0, 8, 1, 128 * 128 * 128, 3, "cuda"), 2);
  // 128^3 with 105 classes: 840 MiB per copy, over the budget: one per pass.
  EXPECT_EQ(mirror_copies_per_forward(0, 8, 1, 128 * 128 * 128, 105, "cuda"), 1);
  // 64^3 with 105 classes: 105 MiB per copy, 4 fit: two passes of 4.
  EXPECT_EQ(mirror_copies_per_forward(0, 8, 1, 64 * 64 * 64, 105, "cuda"), 4);
  // 7 fit: evened out to two passes of 4, not 7 + 1.
  EXPECT_EQ(mirror_copies_per_forward(0, 8, 1, 64 * 64 * 64 * 9 / 4, 32, "cuda"), 4);
  // 2D, two mirror axes (4 combinations), 512^2 slices: all at once.
  EXPECT_EQ(mirror_copies_per_forward(0, 4, 1, 512 * 512, 14, "cuda"), 4);
  // On the CPU auto is one pass per mirror; an explicit request still batches.
  EXPECT_EQ(mirror_copies_per_forward(0, 8, 1, 64 * 64 * 64, 3, "cpu"), 1);
  EXPECT_EQ(mirror_copies_per_forward(8, 8, 1, 64 * 64 * 64, 3, "cpu"), 8);
}

TEST(MirrorBatch, ConvNet3DOddShapesEqualsOnePassPerMirror) {
  auto net = testnets::conv_net(2, 3, 3, 3, 11);
  const at::Tensor image = torch::randn({2, 11, 13, 9});
  WindowOptions o;
  o.patch_size = {5, 7, 6};
  o.batch_size = 2;
  const Runs r = run_three_ways(image, Nets{net}, o);
  EXPECT_LT(relative_difference(r.batched, r.sequential), 1e-5);
  EXPECT_LT(relative_difference(r.uneven, r.sequential), 1e-5);
  EXPECT_TRUE(torch::equal(r.batched.argmax(0), r.sequential.argmax(0)));
  const int64_t batches = (r.s_seq.tiles + 1) / 2;
  EXPECT_EQ(r.s_seq.forward_passes, 8 * batches);
  EXPECT_EQ(r.s_all.forward_passes, batches);
  EXPECT_EQ(r.s_all.mirror_copies, 8);
  EXPECT_EQ(r.s_uneven.forward_passes, 3 * batches);
  EXPECT_EQ(r.s_seq.voxels_forwarded, r.s_all.voxels_forwarded);
}

TEST(MirrorBatch, ConvNet2DOddShapesAndOneMirrorAxisEqualsOnePassPerMirror) {
  auto net = testnets::conv_net(1, 4, 3, 2, 12);
  const at::Tensor image = torch::randn({1, 3, 15, 11});
  WindowOptions o;
  o.patch_size = {7, 5};
  o.mirror_axes = {0, 1};
  const Runs r = run_three_ways(image, Nets{net}, o);
  EXPECT_LT(relative_difference(r.batched, r.sequential), 1e-5);
  EXPECT_LT(relative_difference(r.uneven, r.sequential), 1e-5);
  EXPECT_EQ(r.s_all.forward_passes, r.s_all.tiles);            // 4 combinations in one pass
  EXPECT_EQ(r.s_uneven.forward_passes, 2 * r.s_uneven.tiles);  // 3 + 1
  o.mirror_axes = {1};  // two combinations only
  const Runs one = run_three_ways(image, Nets{net}, o);
  EXPECT_LT(relative_difference(one.batched, one.sequential), 1e-5);
  EXPECT_EQ(one.s_all.forward_passes, one.s_all.tiles);
  EXPECT_EQ(one.s_uneven.mirror_copies, 2);
}

TEST(MirrorBatch, NativeUNetWithInstanceNormAndTwoFoldsEqualsOnePassPerMirror) {
  // The native U-Net runs batches of one through oneDNN directly and larger batches through ATen:
  // the two paths round differently, within float32 precision.
  const Nets folds{native_unet(3, 1, 3, 21), native_unet(3, 1, 3, 22)};
  const at::Tensor image = torch::randn({1, 9, 14, 11});
  WindowOptions o;
  o.patch_size = {8, 8, 8};
  const Runs r = run_three_ways(image, folds, o);
  EXPECT_LT(relative_difference(r.batched, r.sequential), 1e-5);
  EXPECT_LT(relative_difference(r.uneven, r.sequential), 1e-5);
  EXPECT_TRUE(torch::equal(r.batched.argmax(0), r.sequential.argmax(0)));
  EXPECT_EQ(r.s_all.forward_passes, 2 * r.s_all.tiles);  // one per fold and tile

  const Nets flat{native_unet(2, 2, 2, 23)};
  const at::Tensor slices = torch::randn({2, 3, 13, 10});
  WindowOptions o2;
  o2.patch_size = {8, 8};
  o2.mirror_axes = {0, 1};
  const Runs r2 = run_three_ways(slices, flat, o2);
  EXPECT_LT(relative_difference(r2.batched, r2.sequential), 1e-5);
  EXPECT_TRUE(torch::equal(r2.batched.argmax(0), r2.sequential.argmax(0)));
}

TEST(MirrorBatch, PredictedLabelsAreEqualAndTheReportNamesTheCopies) {
  voxseg::infer::Model m;
  m.networks = {native_unet(3, 1, 3, 31)};
  m.plan.channels = {voxseg::preprocess::NormalizeOptions{voxseg::preprocess::Normalization::ZScore}};
  m.plan.target_spacing = {2.0, 1.5, 1.5};
  m.patch_size = {8, 12, 12};
  m.mirror_axes = {0, 1, 2};
  torch::manual_seed(5);
  voxseg::Volume image{torch::randn({13, 21, 17}) * 100 + 40, {}};
  image.geometry.size = {17, 21, 13};
  image.geometry.spacing = {1.2, 1.2, 2.5};
  voxseg::infer::PredictOptions all;  // the default (auto) is one pass per mirror on the CPU
  all.tta_batch = 8;
  const auto a = voxseg::infer::predict_volume(image, m, voxseg::infer::PredictOptions{});
  const auto b = voxseg::infer::predict_volume(image, m, all);
  EXPECT_TRUE(torch::equal(a.labels.data, b.labels.data));
  EXPECT_EQ(a.report.find("tta_copies_per_pass")->as_int(), 1);
  EXPECT_EQ(b.report.find("tta_copies_per_pass")->as_int(), 8);
  EXPECT_EQ(a.report.find("forward_passes")->as_int(), 8 * b.report.find("forward_passes")->as_int());
}
