// The native U-Net's oneDNN inference engine (detail/onednn_unet.h) against the torch modules (the
// ATen path, VOXSEG_ONEDNN_ENGINE=0) with the same random weights: PlainConvUNet 2D/3D, ResEnc,
// instance / batch / no norm, odd stage sizes, batches, changing shapes, bf16.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "voxseg/core/error.h"
#include "voxseg/models/bundle.h"
#include "voxseg/models/network.h"
#include "voxseg/models/unet.h"
#include "voxseg/models/unet_config.h"

namespace voxseg::models {
namespace {

// Weights with every parameter non-trivial (nnU-Net's init has zero biases and unit norms, which
// would hide a misplaced bias or affine term); batch norm statistics as if trained.
StateDict random_weights(const UNetConfig& c, int seed) {
  torch::manual_seed(seed);
  UNet net(c);
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : net.state_dict()) {
    const auto ends_with = [&](const std::string& s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (ends_with("num_batches_tracked")) continue;
    if (ends_with("running_var")) t.uniform_(0.5, 1.5);
    else if (ends_with("running_mean")) t.normal_(0.0, 0.2);
    else if (name.find(".norm.") != std::string::npos && ends_with("weight")) t.normal_(1.0, 0.2);
    else if (ends_with("bias")) t.normal_(0.0, 0.1);
  }
  return net.state_dict();
}

struct Nets {
  std::unique_ptr<Network> engine, aten;
};

Nets make_nets(const UNetConfig& c, const StateDict& w, Precision p) {
  Nets n;
  setenv("VOXSEG_ONEDNN_ENGINE", "0", 1);
  n.aten = make_unet_network(c, w, "test", "aten", torch::kCPU, p);
  unsetenv("VOXSEG_ONEDNN_ENGINE");
  n.engine = make_unet_network(c, w, "test", "engine", torch::kCPU, p);
  return n;
}

double relative_error(const at::Tensor& got, const at::Tensor& want) {
  return (got - want).abs().max().item<double>() / std::max(1e-12, want.abs().max().item<double>());
}

double label_agreement(const at::Tensor& a, const at::Tensor& b) {
  return a.argmax(1).eq(b.argmax(1)).to(at::kDouble).mean().item<double>();
}

// fp32: the engine within 1e-4 (relative to the largest logit) of ATen, labels equal.
void expect_fp32_equal(const UNetConfig& c, const std::vector<std::vector<int64_t>>& shapes, int seed = 1) {
  const Nets n = make_nets(c, random_weights(c, seed), Precision::FP32);
  ASSERT_EQ(n.engine->forward_path(), "onednn");
  ASSERT_EQ(n.aten->forward_path(), "aten");
  for (const auto& shape : shapes) {
    const at::Tensor x = torch::randn(shape);
    const at::Tensor want = n.aten->forward(x), got = n.engine->forward(x);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_EQ(got.scalar_type(), at::kFloat);
    EXPECT_TRUE(got.is_contiguous());
    EXPECT_LT(relative_error(got, want), 1e-4) << "input " << x.sizes();
    EXPECT_EQ(label_agreement(got, want), 1.0) << "input " << x.sizes();
  }
  EXPECT_EQ(n.engine->forward_path(), "onednn");
}

UNetConfig plain(int dims, int stages, const std::string& norm = "instance") {
  UNetConfig c = make_default_unet_config(dims, 1, 3, stages, 8, 32);
  c.norm = norm;
  return c;
}

UNetConfig resenc(int dims, const std::string& norm = "instance") {
  UNetConfig c = make_default_unet_config(dims, 2, 4, 3, 8, 32);
  c.encoder = "residual";
  c.n_conv_per_stage.clear();
  c.n_blocks_per_stage = {1, 2, 2};
  c.n_conv_per_stage_decoder = {1, 1};
  c.stem_channels = 6;  // the first block's skip projects 6 -> 8 channels without pooling
  c.norm = norm;
  return c;
}

TEST(OnednnUNet, Plain3dInstanceNormMatchesAten) { expect_fp32_equal(plain(3, 3), {{1, 1, 16, 16, 16}}); }

TEST(OnednnUNet, Plain3dOddStageSizesAndBatch) {
  UNetConfig c = plain(3, 4);
  c.in_channels = 2;
  c.norm_affine = false;
  // 40x56x24 pools to 5x7x3 at the bottom; two tiles per batch.
  expect_fp32_equal(c, {{2, 2, 40, 56, 24}});
}

TEST(OnednnUNet, ShapesChangeBetweenCalls) {
  expect_fp32_equal(plain(3, 3), {{1, 1, 16, 16, 16}, {2, 1, 8, 12, 20}, {1, 1, 16, 16, 16}, {1, 1, 4, 4, 4}});
}

// oneDNN runs on LibTorch's OpenMP pool: a new thread count gets new primitives, same results.
TEST(OnednnUNet, ThreadCountChangesBetweenCalls) {
  const UNetConfig c = plain(3, 3);
  const Nets n = make_nets(c, random_weights(c, 2), Precision::FP32);
  const at::Tensor x = torch::randn({1, 1, 16, 8, 16});
  const at::Tensor want = n.aten->forward(x);
  const int before = at::get_num_threads();
  for (int threads : {1, 2, 1}) {
    at::set_num_threads(threads);
    EXPECT_LT(relative_error(n.engine->forward(x), want), 1e-4) << threads << " thread(s)";
  }
  at::set_num_threads(before);
  release_inference_buffers();  // the next forward allocates its buffers again
  EXPECT_LT(relative_error(n.engine->forward(x), want), 1e-4);
}

TEST(OnednnUNet, Plain2dBatchNormMatchesAten) {
  expect_fp32_equal(plain(2, 4, "batch"), {{3, 1, 40, 24}, {1, 1, 16, 16}});
}

// 40 classes at 64x64: the head runs in slabs of 25 slices (16 MB of logits each), 32 = 25 + 7.
TEST(OnednnUNet, ManyClassesHeadInSlabs) {
  UNetConfig c = make_default_unet_config(3, 1, 40, 2, 4, 8);
  expect_fp32_equal(c, {{2, 1, 32, 64, 64}});
}

TEST(OnednnUNet, Plain3dWithoutNormMatchesAten) { expect_fp32_equal(plain(3, 3, "none"), {{1, 1, 12, 8, 16}}); }

TEST(OnednnUNet, Plain2dInstanceNormMatchesAten) { expect_fp32_equal(plain(2, 5), {{2, 1, 48, 32}}); }

TEST(OnednnUNet, ResEnc3dInstanceNormMatchesAten) { expect_fp32_equal(resenc(3), {{2, 2, 12, 16, 8}}); }

TEST(OnednnUNet, ResEnc2dBatchNormMatchesAten) { expect_fp32_equal(resenc(2, "batch"), {{1, 2, 24, 40}}); }

TEST(OnednnUNet, ResEnc3dWithoutNormMatchesAten) { expect_fp32_equal(resenc(3, "none"), {{1, 2, 8, 8, 8}}); }

// bf16: within bf16's precision of the float32 network, and labels (nearly) equal to float32's.
void expect_bf16_close(const UNetConfig& c, const std::vector<int64_t>& shape) {
  const StateDict w = random_weights(c, 3);
  const Nets f = make_nets(c, w, Precision::FP32);
  const Nets b = make_nets(c, w, Precision::BF16);
  ASSERT_EQ(b.engine->forward_path(), "onednn");
  const at::Tensor x = torch::randn(shape);
  const at::Tensor want = f.aten->forward(x), got = b.engine->forward(x), aten_bf16 = b.aten->forward(x);
  EXPECT_EQ(got.scalar_type(), at::kFloat);
  ASSERT_EQ(got.sizes(), want.sizes());
  const double err = relative_error(got, want), aten_err = relative_error(aten_bf16, want);
  EXPECT_LT(err, 0.05) << "ATen's autocast bf16 is off by " << aten_err;
  EXPECT_GE(label_agreement(got, want), 0.99) << "ATen's autocast bf16 agrees on " << label_agreement(aten_bf16, want);
  EXPECT_EQ(b.engine->forward_path(), "onednn");
}

TEST(OnednnUNet, Plain3dBf16CloseToFloat32) { expect_bf16_close(plain(3, 3), {1, 1, 16, 24, 16}); }

TEST(OnednnUNet, ResEnc2dBf16CloseToFloat32) { expect_bf16_close(resenc(2), {2, 2, 32, 32}); }

TEST(OnednnUNet, DisabledByEnvironment) {
  const UNetConfig c = plain(3, 2);
  setenv("VOXSEG_ONEDNN_ENGINE", "0", 1);
  const auto net = make_unet_network(c, random_weights(c, 5), "test", "off", torch::kCPU, Precision::FP32);
  unsetenv("VOXSEG_ONEDNN_ENGINE");
  net->forward(torch::randn({1, 1, 8, 8, 8}));
  EXPECT_EQ(net->forward_path(), "aten");
}

TEST(OnednnUNet, BadInputIsStillRejected) {
  const UNetConfig c = plain(3, 3);
  const auto net = make_unet_network(c, random_weights(c, 5), "test", "engine", torch::kCPU, Precision::FP32);
  EXPECT_THROW(net->forward(torch::randn({1, 1, 10, 16, 16})), Error);  // not a multiple of 4
}

}  // namespace
}  // namespace voxseg::models
