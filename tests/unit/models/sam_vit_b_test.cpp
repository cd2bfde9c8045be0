// A random ViT-B state dict of the official shapes (~360 MB, written at test time, removed after):
// variant detection, and the shapes of one 1024x1024 encode and one box decode.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../shared_test_support.h"
#include "voxseg/models/sam.h"

namespace voxseg::models::test {
namespace {

namespace fs = std::filesystem;

TEST(SamVitB, DetectsViTBAndProducesOfficialShapes) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const fs::path dir = test_support::fresh_dir(VOXSEG_SAM_TEST_TMP, "vit_b");
  const std::string cmd = "/usr/bin/python3 '" + std::string(VOXSEG_SAM_FIXTURE_SCRIPT) + "' '" + dir.string() +
                          "' --preset vit_b --weights-only";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  {
    const SamModel model = SamModel::load(dir / "weights.pth", c10::Device(c10::kCPU), Precision::FP32);
    fs::remove_all(dir);  // the tensors are in memory now; free the disk early
    const SamConfig& c = model.config();
    EXPECT_EQ(c.variant, "vit_b");
    EXPECT_EQ(c.embed_dim, 768);
    EXPECT_EQ(c.depth, 12);
    EXPECT_EQ(c.num_heads, 12);
    EXPECT_EQ(c.global_attn_indexes, (std::vector<int64_t>{2, 5, 8, 11}));
    EXPECT_EQ(c.window_size, 14);
    EXPECT_EQ(c.image_size, 1024);
    const at::Tensor emb = model.encode(at::zeros({1, 3, 1024, 1024}));
    EXPECT_EQ(emb.sizes(), (std::vector<int64_t>{1, 256, 64, 64}));
    EXPECT_TRUE(at::isfinite(emb).all().item<bool>());
    SamModel::Prompts p{{}, {}, at::tensor({100.f, 200.f, 600.f, 700.f}).view({1, 4}), {}};
    const auto out = model.decode(emb, p, true);
    EXPECT_EQ(out.low_res_logits.sizes(), (std::vector<int64_t>{1, 3, 256, 256}));
    EXPECT_EQ(out.iou.sizes(), (std::vector<int64_t>{1, 3}));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace voxseg::models::test
