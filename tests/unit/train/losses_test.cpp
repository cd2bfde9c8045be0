#include "voxseg/train/losses.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using namespace voxseg::train;

TEST(DiceCeLoss, PerfectLogitsGiveMinusOneAndWorseLogitsMore) {
  torch::manual_seed(0);
  auto target = torch::randint(0, 3, {2, 4, 5, 6}, torch::kLong);
  auto perfect = torch::one_hot(target, 3).permute({0, 4, 1, 2, 3}).to(torch::kFloat) * 40.0f;
  const double best = dice_ce_loss(perfect, target).item<double>();
  EXPECT_NEAR(best, -1.0, 1e-3);
  const double random = dice_ce_loss(torch::randn({2, 3, 4, 5, 6}), target).item<double>();
  EXPECT_GT(random, best + 0.5);
}

TEST(DiceCeLoss, IsDifferentiable) {
  auto logits = torch::randn({1, 2, 3, 3, 3}, torch::requires_grad());
  auto target = torch::randint(0, 2, {1, 3, 3, 3}, torch::kLong);
  dice_ce_loss(logits, target).backward();
  EXPECT_TRUE(logits.grad().defined());
  EXPECT_GT(logits.grad().abs().sum().item<double>(), 0);
}

TEST(DeepSupervision, WeightsHalvePerLevelAndIgnoreTheLowest) {
  const auto w = deep_supervision_weights(4);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_NEAR(w[0], 1 / 1.75, 1e-12);
  EXPECT_NEAR(w[1], 0.5 / 1.75, 1e-12);
  EXPECT_NEAR(w[2], 0.25 / 1.75, 1e-12);
  EXPECT_EQ(w[3], 0.0);
  EXPECT_EQ(deep_supervision_weights(1), std::vector<double>{1.0});
}

TEST(DeepSupervision, LowerOutputsUseADownsampledTarget) {
  auto target = torch::zeros({1, 8, 8, 8}, torch::kLong);
  target.slice(1, 0, 4).fill_(1);
  auto full = torch::one_hot(target, 2).permute({0, 4, 1, 2, 3}).to(torch::kFloat) * 40.0f;
  auto half_t = target.slice(1, 0, 8, 2).slice(2, 0, 8, 2).slice(3, 0, 8, 2);
  auto half = torch::one_hot(half_t, 2).permute({0, 4, 1, 2, 3}).to(torch::kFloat) * 40.0f;
  auto quarter = torch::zeros({1, 2, 2, 2, 2});
  const double l = deep_supervision_loss({full, half, quarter}, target).item<double>();
  EXPECT_NEAR(l, -1.0, 1e-3);  // the quarter output has weight 0
}

TEST(PolyLr, FollowsNnunetSchedule) {
  EXPECT_DOUBLE_EQ(poly_lr(0.01, 0, 100), 0.01);
  EXPECT_NEAR(poly_lr(0.01, 50, 100), 0.01 * std::pow(0.5, 0.9), 1e-15);
  EXPECT_DOUBLE_EQ(poly_lr(0.01, 100, 100), 0.0);
}

TEST(DicePerLabel, CountsOverlapAndMarksAbsentLabels) {
  auto a = torch::zeros({10}, torch::kLong), b = torch::zeros({10}, torch::kLong);
  a.slice(0, 0, 4).fill_(1);
  b.slice(0, 2, 6).fill_(1);
  const auto d = dice_per_label(a, b, 3);
  EXPECT_DOUBLE_EQ(d[0], 2.0 * 2 / 8);
  EXPECT_TRUE(std::isnan(d[1]));
}

TEST(InstanceTarget, TouchingInstancesGetABoundaryBetweenThem) {
  auto inst = torch::zeros({1, 1, 10}, torch::kInt32);
  inst.slice(2, 2, 5).fill_(3);
  inst.slice(2, 5, 9).fill_(8);
  const auto t = instance_target(inst).flatten();
  const std::vector<int> expect{0, 0, 2, 1, 2, 2, 1, 1, 2, 0};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(t[i].item<int>(), expect[size_t(i)]) << i;
}
