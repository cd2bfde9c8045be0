#include "voxseg/train/unet.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "voxseg/train/losses.h"

using namespace voxseg::train;

namespace {
voxseg::models::UNetConfig small_config() {
  voxseg::models::UNetConfig c;
  c.in_channels = 1;
  c.num_classes = 3;
  c.features_per_stage = {4, 8, 16};
  c.kernel_sizes = {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}};
  c.strides = {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}};
  c.n_conv_per_stage = {2, 2, 2};
  c.n_conv_per_stage_decoder = {2, 2};
  c.deep_supervision = true;
  return c;
}
}  // namespace

TEST(TrainableUNet, DeepSupervisionOutputsHighestResolutionFirst) {
  auto net = make_unet(small_config());
  const auto outs = net->forward(torch::randn({2, 1, 8, 16, 16}));
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[0].sizes(), (std::vector<int64_t>{2, 3, 8, 16, 16}));
  EXPECT_EQ(outs[1].sizes(), (std::vector<int64_t>{2, 3, 8, 8, 8}));
}

TEST(TrainableUNet, ParameterNamesFollowPlainConvUNet) {
  auto net = make_unet(small_config());
  const auto params = net->module().named_parameters();
  for (const char* name : {"encoder.stages.0.0.convs.0.conv.weight", "encoder.stages.2.0.convs.1.norm.bias",
                           "decoder.transpconvs.0.weight", "decoder.stages.1.convs.1.conv.bias",
                           "decoder.seg_layers.1.weight"})
    EXPECT_TRUE(params.contains(name)) << name;
  EXPECT_EQ(params["decoder.transpconvs.0.weight"].sizes(), (std::vector<int64_t>{16, 8, 2, 2, 2}));
}

TEST(TrainableUNet, Bf16AutocastKeepsTransposedConvsInFloat) {
  auto net = make_unet(small_config());
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  std::vector<at::Tensor> outs;
  EXPECT_NO_THROW(outs = net->forward(torch::randn({1, 1, 8, 16, 16})));
  at::autocast::set_cpu_enabled(false);
  at::autocast::clear_cache();
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_TRUE(torch::isfinite(outs[0].to(torch::kFloat)).all().item<bool>());
}

TEST(TrainableUNet, FewStepsFitOneBatch) {
  torch::manual_seed(3);
  auto net = make_unet(small_config());
  auto x = torch::randn({2, 1, 8, 16, 16});
  auto y = (x.select(1, 0) > 0.5).to(torch::kLong);
  torch::optim::SGD opt(net->module().parameters(), torch::optim::SGDOptions(0.01).momentum(0.99).nesterov(true));
  double first = 0, last = 0;
  for (int i = 0; i < 30; ++i) {
    opt.zero_grad();
    auto loss = deep_supervision_loss(net->forward(x), y);
    loss.backward();
    opt.step();
    const double v = loss.item<double>();
    if (i == 0) first = v;
    last = v;
  }
  EXPECT_LT(last, first - 0.2);
}
