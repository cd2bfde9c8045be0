#include "voxseg/infer/sliding_window.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_nets.h"
#include "voxseg/core/error.h"

using voxseg::infer::gaussian_importance_map;
using voxseg::infer::sliding_window;
using voxseg::infer::sliding_window_logits;
using voxseg::infer::tile_starts;
using voxseg::infer::WindowOptions;
using voxseg::infer::WindowStats;

using Nets = std::vector<std::shared_ptr<voxseg::models::Network>>;

TEST(TileStarts, Table) {
  struct Case { int64_t extent, patch; double step; std::vector<int64_t> want; };
  const std::vector<Case> cases{
      {128, 128, 0.5, {0}},            // size == patch: one tile at 0
      {129, 128, 0.5, {0, 1}},         // one voxel more: a second, flush tile
      {110, 64, 0.5, {0, 23, 46}},     // nnU-Net's own example
      {200, 128, 0.5, {0, 36, 72}},
      {11, 6, 0.5, {0, 2, 5}},         // 2.5 rounds half to even (numpy), not up
      {7, 4, 0.5, {0, 2, 3}},
      {100, 50, 1.0, {0, 50}},
      {64, 16, 0.25, {0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48}},
  };
  for (const auto& c : cases) EXPECT_EQ(tile_starts(c.extent, c.patch, c.step), c.want) << c.extent << "/" << c.patch;
}

TEST(TileStarts, LastTileEndsFlushWithExtentAndStepsNeverExceedTheTarget) {
  for (int64_t patch : {5, 16, 33})
    for (double step : {0.25, 0.5, 0.7, 1.0})
      for (int64_t extent = patch; extent < patch * 5; extent += 3) {
        const auto s = tile_starts(extent, patch, step);
        ASSERT_FALSE(s.empty());
        EXPECT_EQ(s.front(), 0);
        EXPECT_EQ(s.back() + patch, extent) << extent << " " << patch << " " << step;
        for (size_t i = 1; i < s.size(); ++i) EXPECT_LE(s[i] - s[i - 1], int64_t(std::ceil(patch * step)));
      }
}

TEST(TileStarts, RejectsBadStep) {
  EXPECT_THROW(tile_starts(10, 4, 0.0), voxseg::Error);
  EXPECT_THROW(tile_starts(10, 4, 1.5), voxseg::Error);
}

TEST(Gaussian, PeakOneAtCentreAndSigmaIsAnEighthOfThePatch) {
  const at::Tensor g = gaussian_importance_map({16, 8, 12});
  EXPECT_FLOAT_EQ(g.max().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(g[8][4][6].item<float>(), 1.0f);
  // Along z: exp(-d^2 / (2 sigma^2)) with sigma = 2 relative to the centre.
  EXPECT_NEAR(g[10][4][6].item<float>(), std::exp(-4.0 / 8.0), 1e-6);
  EXPECT_GT(g.min().item<float>(), 0.0f);
}

namespace {

// Independent brute force: explicit padding, every tile, per-tile flips, Gaussian from its formula.
at::Tensor brute_force(const at::Tensor& image, voxseg::models::Network& net, std::vector<int64_t> patch, double step,
                       bool gaussian, bool mirror) {
  const int64_t C = image.size(0);
  std::vector<int64_t> size{image.size(1), image.size(2), image.size(3)}, padded(3), lo(3);
  for (int a = 0; a < 3; ++a) {
    padded[a] = std::max(size[a], patch[a]);
    lo[a] = (padded[a] - size[a]) / 2;
  }
  at::Tensor in = torch::zeros({C, padded[0], padded[1], padded[2]});
  in.slice(1, lo[0], lo[0] + size[0]).slice(2, lo[1], lo[1] + size[1]).slice(3, lo[2], lo[2] + size[2]).copy_(image);
  at::Tensor w = torch::ones({patch[0], patch[1], patch[2]}, torch::kDouble);
  if (gaussian)
    for (int64_t z = 0; z < patch[0]; ++z)
      for (int64_t y = 0; y < patch[1]; ++y)
        for (int64_t x = 0; x < patch[2]; ++x) {
          double e = 0;
          const int64_t p[3] = {z, y, x};
          for (int a = 0; a < 3; ++a) {
            const double s = patch[a] / 8.0, d = double(p[a] - patch[a] / 2);
            e += d * d / (2 * s * s);
          }
          w[z][y][x] = std::exp(-e);
        }
  auto starts = [&](int a) {
    std::vector<int64_t> s;
    const int64_t n = int64_t(std::ceil(double(padded[a] - patch[a]) / (patch[a] * step))) + 1;
    for (int64_t i = 0; i < n; ++i)
      s.push_back(n == 1 ? 0 : int64_t(std::nearbyint(double(i) * double(padded[a] - patch[a]) / double(n - 1))));
    return s;
  };
  at::Tensor sum, wsum = torch::zeros({padded[0], padded[1], padded[2]}, torch::kDouble);
  for (int64_t z : starts(0))
    for (int64_t y : starts(1))
      for (int64_t x : starts(2)) {
        const at::Tensor tile = in.slice(1, z, z + patch[0]).slice(2, y, y + patch[1]).slice(3, x, x + patch[2]).unsqueeze(0);
        at::Tensor pred = net.forward(tile).to(torch::kDouble);
        if (mirror) {
          const std::vector<std::vector<int64_t>> flips{{2}, {3}, {4}, {2, 3}, {2, 4}, {3, 4}, {2, 3, 4}};
          for (const auto& f : flips) pred += torch::flip(net.forward(torch::flip(tile, f)), f).to(torch::kDouble);
          pred /= 8.0;
        }
        if (!sum.defined()) sum = torch::zeros({pred.size(1), padded[0], padded[1], padded[2]}, torch::kDouble);
        sum.slice(1, z, z + patch[0]).slice(2, y, y + patch[1]).slice(3, x, x + patch[2]) += pred[0] * w;
        wsum.slice(0, z, z + patch[0]).slice(1, y, y + patch[1]).slice(2, x, x + patch[2]) += w;
      }
  at::Tensor out = sum / wsum;
  return out.slice(1, lo[0], lo[0] + size[0]).slice(2, lo[1], lo[1] + size[1]).slice(3, lo[2], lo[2] + size[2]).to(torch::kFloat);
}

}  // namespace

TEST(SlidingWindow, OneTileEqualsManyTilesForAFullyConvolutionalNetWithConstantWeights) {
  auto net = testnets::conv_net(1, 3, 1);  // pointwise: no tile-border effects
  const at::Tensor image = torch::randn({1, 20, 18, 22});
  WindowOptions one;
  one.patch_size = {20, 18, 22};
  one.gaussian = false;
  WindowOptions many = one;
  many.patch_size = {8, 6, 10};
  many.step = 0.5;
  WindowStats s1, s2;
  const at::Tensor a = sliding_window_logits(image, Nets{net}, one, &s1);
  const at::Tensor b = sliding_window_logits(image, Nets{net}, many, &s2);
  EXPECT_EQ(s1.tiles, 1);
  EXPECT_GT(s2.tiles, 30);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{3, 20, 18, 22}));
  EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-5)) << (a - b).abs().max().item<float>();
  // The same holds with the Gaussian: weights cancel for identical per-tile predictions.
  many.gaussian = true;
  EXPECT_TRUE(torch::allclose(a, sliding_window_logits(image, Nets{net}, many), 1e-5, 1e-5));
}

TEST(SlidingWindow, GaussianBlendingMatchesBruteForce) {
  auto net = testnets::conv_net(2, 3, 3);  // 3x3x3 kernels: tiles disagree near their borders
  const at::Tensor image = torch::randn({2, 13, 21, 17});
  WindowOptions o;
  o.patch_size = {8, 12, 8};
  o.mirror = false;
  const at::Tensor ours = sliding_window_logits(image, Nets{net}, o);
  const at::Tensor ref = brute_force(image, *net, o.patch_size, 0.5, true, false);
  EXPECT_TRUE(torch::allclose(ours, ref, 1e-5, 1e-5)) << (ours - ref).abs().max().item<float>();
  // And with constant weights (plain averaging), which really differs from the Gaussian result.
  o.gaussian = false;
  const at::Tensor flat = sliding_window_logits(image, Nets{net}, o);
  EXPECT_TRUE(torch::allclose(flat, brute_force(image, *net, o.patch_size, 0.5, false, false), 1e-5, 1e-5));
  EXPECT_GT((flat - ours).abs().max().item<float>(), 1e-4);
}

TEST(SlidingWindow, MirroringTtaMatchesBruteForceAndBatchingDoesNotChangeResults) {
  auto net = testnets::conv_net(1, 2, 3, 3, 7);
  const at::Tensor image = torch::randn({1, 10, 12, 9});
  WindowOptions o;
  o.patch_size = {8, 8, 8};
  o.mirror = true;
  const at::Tensor ours = sliding_window_logits(image, Nets{net}, o);
  EXPECT_TRUE(torch::allclose(ours, brute_force(image, *net, o.patch_size, 0.5, true, true), 1e-5, 1e-5));
  o.batch_size = 3;
  o.mirror_batch = 1;  // one pass per mirror (mirror_batch_test.cpp covers the batched copies)
  WindowStats s;
  EXPECT_TRUE(torch::allclose(ours, sliding_window_logits(image, Nets{net}, o, &s), 1e-5, 1e-6));
  EXPECT_EQ(s.forward_passes, 8 * ((s.tiles + 2) / 3));
}

TEST(SlidingWindow, InputSmallerThanThePatchIsPaddedToOneTile) {
  auto net = testnets::conv_net(1, 2, 3);
  const at::Tensor image = torch::randn({1, 5, 7, 3});
  WindowOptions o;
  o.patch_size = {8, 8, 8};
  WindowStats s;
  const at::Tensor out = sliding_window_logits(image, Nets{net}, o, &s);
  EXPECT_EQ(s.tiles, 1);
  EXPECT_EQ(s.padded_shape, (std::vector<int64_t>{8, 8, 8}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 5, 7, 3}));
  EXPECT_TRUE(torch::allclose(out, brute_force(image, *net, o.patch_size, 0.5, true, true), 1e-5, 1e-5));
}

TEST(SlidingWindow, StreamingIsByteIdenticalAndHoldsOnlyAPatchOfSlices) {
  auto net = testnets::conv_net(1, 4, 3);
  const at::Tensor image = torch::randn({1, 40, 12, 12});
  WindowOptions o;
  o.patch_size = {8, 8, 8};
  o.batch_size = 2;
  o.mirror = false;
  WindowStats streamed, whole;
  const at::Tensor a = sliding_window_logits(image, Nets{net}, o, &streamed);
  o.stream = false;
  const at::Tensor b = sliding_window_logits(image, Nets{net}, o, &whole);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_EQ(whole.max_slices_held, 40);
  EXPECT_LE(streamed.max_slices_held, 8 + 4);  // one patch plus one step: independent of the depth
}

TEST(SlidingWindow, TwoDimensionalNetRunsOnEverySlice) {
  auto net = testnets::conv_net(1, 2, 3, 2);
  const at::Tensor image = torch::randn({1, 3, 20, 11});
  WindowOptions o;
  o.patch_size = {8, 8};
  o.mirror_axes = {0, 1};
  WindowStats s;
  const at::Tensor out = sliding_window_logits(image, Nets{net}, o, &s);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 20, 11}));
  EXPECT_EQ(s.tiles, 3 * 4 * 2);  // slices x tile_starts(20, 8) x tile_starts(11, 8)
  // Each slice equals the 2D window run on that slice alone.
  const at::Tensor one = sliding_window_logits(image.slice(1, 1, 2), Nets{net}, o);
  EXPECT_TRUE(torch::equal(out.slice(1, 1, 2), one));
}

TEST(SlidingWindow, RejectsChannelMismatch) {
  auto net = testnets::conv_net(2, 2, 1);
  WindowOptions o;
  o.patch_size = {4, 4, 4};
  try {
    sliding_window_logits(torch::zeros({1, 4, 4, 4}), Nets{net}, o);
    FAIL();
  } catch (const voxseg::Error& e) {
    EXPECT_EQ(e.code(), voxseg::ExitCode::BadInput);
  }
}

// The float16 slab (--accumulator fp16) halves the accumulator and keeps the labels of float32.
TEST(SlidingWindow, Float16AccumulatorGivesTheLabelsOfFloat32WithHalfTheMemory) {
  auto net = testnets::conv_net(1, 12, 3, 3, 5);  // 12 classes: many close runner-up logits
  const at::Tensor image = torch::randn({1, 30, 26, 22});
  WindowOptions o;
  o.patch_size = {8, 10, 8};
  o.mirror = false;
  o.accumulator = voxseg::infer::Accumulator::Float32;
  WindowStats s32, s16;
  const at::Tensor a = sliding_window_logits(image, Nets{net}, o, &s32);
  o.accumulator = voxseg::infer::Accumulator::Float16;
  const at::Tensor b = sliding_window_logits(image, Nets{net}, o, &s16);
  EXPECT_EQ(s32.accumulator, voxseg::infer::Accumulator::Float32);
  EXPECT_EQ(s16.accumulator, voxseg::infer::Accumulator::Float16);
  ASSERT_EQ(b.scalar_type(), torch::kFloat);  // the sink still gets float32
  ASSERT_EQ(a.sizes(), b.sizes());
  const double agreement = a.argmax(0).eq(b.argmax(0)).to(torch::kDouble).mean().item<double>();
  EXPECT_GE(agreement, 0.999);
  const double range = a.abs().max().item<double>();
  EXPECT_LT((a - b).abs().max().item<double>(), 2e-3 * range);  // float16 rounding of the sums only
  EXPECT_GT((a - b).abs().max().item<double>(), 0.0);           // it really ran in float16
  // Logits 12 x 2 bytes + weight 4 bytes per voxel against 12 x 4 + 4.
  EXPECT_EQ(s16.accumulator_bytes * 52, s32.accumulator_bytes * 28);
}

// Auto keeps float32 (byte-identical results) while the float32 slab stays under 1 GiB.
TEST(SlidingWindow, AutoAccumulatorIsFloat32ForSmallSlabs) {
  auto net = testnets::conv_net(1, 3, 3);
  const at::Tensor image = torch::randn({1, 12, 12, 12});
  WindowOptions o;
  o.patch_size = {8, 8, 8};
  o.mirror = false;
  WindowStats s;
  const at::Tensor a = sliding_window_logits(image, Nets{net}, o, &s);
  EXPECT_EQ(s.accumulator, voxseg::infer::Accumulator::Float32);
  o.accumulator = voxseg::infer::Accumulator::Float32;
  EXPECT_TRUE(torch::equal(a, sliding_window_logits(image, Nets{net}, o)));
  EXPECT_EQ(voxseg::infer::parse_accumulator("fp16"), voxseg::infer::Accumulator::Float16);
  EXPECT_EQ(voxseg::infer::parse_accumulator("auto"), voxseg::infer::Accumulator::Auto);
  EXPECT_THROW(voxseg::infer::parse_accumulator("int8"), voxseg::Error);
}

// Logits far beyond float16's range are clamped to +-65504 before they are blended: no inf or NaN, and the
// class order of each voxel (the labels) survives.
TEST(SlidingWindow, Float16AccumulatorCannotOverflow) {
  auto net = testnets::sign_net(3);  // logits (-x, x)
  const at::Tensor image = torch::randn({1, 16, 12, 12}) * 1e6;
  WindowOptions o;
  o.patch_size = {8, 8, 8};
  o.mirror = false;
  o.accumulator = voxseg::infer::Accumulator::Float16;
  const at::Tensor out = sliding_window_logits(image, Nets{net}, o);
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  EXPECT_TRUE(torch::equal(out.argmax(0), image[0].gt(0).to(torch::kLong)));
}

// Real networks return inference tensors (made under c10::InferenceMode), which the window scales
// and accumulates in place without copying: with one pass, TTA and two networks, in both accumulators.
TEST(SlidingWindow, NetworksReturningInferenceTensorsAreBlendedInPlace) {
  auto plain = testnets::conv_net(1, 3, 3, 3, 9);
  auto inference = std::make_shared<testnets::ModuleNetwork>(
      [plain](const at::Tensor& x) {
        c10::InferenceMode guard;
        return plain->forward(x);
      },
      1, 3, 3);
  const at::Tensor image = torch::randn({1, 12, 12, 12});
  for (const bool mirror : {false, true})
    for (const auto acc : {voxseg::infer::Accumulator::Float32, voxseg::infer::Accumulator::Float16}) {
      WindowOptions o;
      o.patch_size = {8, 8, 8};
      o.mirror = mirror;
      o.accumulator = acc;
      const at::Tensor want = sliding_window_logits(image, Nets{plain, plain}, o);
      const at::Tensor got = sliding_window_logits(image, Nets{inference, inference}, o);
      EXPECT_FALSE(got.is_inference());
      EXPECT_TRUE(torch::equal(want, got)) << "mirror " << mirror;
      EXPECT_TRUE(
          torch::equal(sliding_window_logits(image, Nets{plain}, o), sliding_window_logits(image, Nets{inference}, o)));
    }
}
