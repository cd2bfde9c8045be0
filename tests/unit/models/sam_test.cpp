// SAM / MedSAM network against an independent PyTorch implementation (make_sam_fixture.py).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "../shared_test_support.h"
#include "sam_test_support.h"
#include "voxseg/checkpoint/pth_reader.h"
#include "voxseg/models/detail/sam_impl.h"
#include "voxseg/models/sam.h"

namespace voxseg::models::test {
namespace {

using test_support::capture_error;
constexpr double kTol = 1e-4;

fs::path tiny() { return sam_fixture("sam-tiny-seed0", "--preset tiny --seed 0"); }

std::vector<std::pair<std::string, at::Tensor>> tiny_weights() {
  return checkpoint::read_state_dict((tiny() / "weights.pth").string());
}

std::unique_ptr<detail::SamImpl> tiny_impl() {
  const auto w = tiny_weights();
  auto impl = std::make_unique<detail::SamImpl>(detect_sam_config(w, "tiny"), c10::Device(c10::kCPU), Precision::FP32);
  impl->load_weights(w, "tiny");
  return impl;
}

class SamTest : public ::testing::Test {
 protected:
  void SetUp() override { VOXSEG_REQUIRE_PYTHON_TORCH(); }
  at::InferenceMode guard_;
};

TEST_F(SamTest, DetectsConfigFromShapes) {
  const SamConfig c = detect_sam_config(tiny_weights(), "tiny");
  EXPECT_EQ(c.variant, "custom");
  EXPECT_EQ(c.embed_dim, 64);
  EXPECT_EQ(c.depth, 4);
  EXPECT_EQ(c.num_heads, 2);
  EXPECT_EQ(c.global_attn_indexes, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(c.window_size, 14);
  EXPECT_EQ(c.image_size, 256);
  EXPECT_EQ(c.patch_size, 16);
  EXPECT_EQ(c.out_chans, 256);
  EXPECT_EQ(c.mask_in_chans, 16);
  EXPECT_EQ(c.decoder_depth, 2);
  EXPECT_EQ(c.decoder_mlp_dim, 2048);
  EXPECT_EQ(c.decoder_iou_depth, 3);
}

TEST_F(SamTest, ParameterNamesEqualTheReferenceStateDict) {
  const auto impl = tiny_impl();
  std::ifstream keys(tiny() / "keys.txt");
  std::set<std::string> expected;
  for (std::string line; std::getline(keys, line);) expected.insert(line.substr(0, line.find(' ')));
  std::set<std::string> ours;
  for (const auto& e : impl->params.entries()) ours.insert(e.name);
  EXPECT_EQ(ours, expected);
}

TEST_F(SamTest, PatchEmbeddingMatchesPyTorch) {
  const auto impl = tiny_impl();
  const auto io = read_io(tiny());
  EXPECT_LT(rel_diff(impl->image_encoder.embed_patches(io.at("images")), io.at("patch_out")), kTol);
}

TEST_F(SamTest, WindowedBlockWithPaddingMatchesPyTorch) {
  const auto impl = tiny_impl();
  const auto io = read_io(tiny());
  ASSERT_GT(impl->image_encoder.blocks[0].window, 0);  // 16x16 tokens padded to 28x28: four 14x14 windows
  EXPECT_LT(rel_diff(impl->image_encoder.blocks[0](io.at("block0_in")), io.at("block0_out")), kTol);
  EXPECT_LT(rel_diff(impl->image_encoder.blocks[2](io.at("block2_in")), io.at("block2_out")), kTol);
}

TEST_F(SamTest, GlobalBlockMatchesPyTorch) {
  const auto impl = tiny_impl();
  const auto io = read_io(tiny());
  ASSERT_EQ(impl->image_encoder.blocks[1].window, 0);
  EXPECT_LT(rel_diff(impl->image_encoder.blocks[1](io.at("block1_in")), io.at("block1_out")), kTol);
}

TEST_F(SamTest, NeckMatchesPyTorch) {
  const auto impl = tiny_impl();
  const auto io = read_io(tiny());
  EXPECT_LT(rel_diff(impl->image_encoder.apply_neck(io.at("neck_in")), io.at("neck_out")), kTol);
}

TEST_F(SamTest, EncoderEndToEndMatchesPyTorch) {
  const SamModel model = SamModel::load(tiny() / "weights.pth", c10::Device(c10::kCPU), Precision::FP32);
  const auto io = read_io(tiny());
  const at::Tensor emb = model.encode(io.at("images"));
  EXPECT_EQ(emb.scalar_type(), at::kFloat);
  EXPECT_LT(rel_diff(emb, io.at("neck_out")), kTol);
  EXPECT_EQ(model.checkpoint_sha256().size(), 64u);
}

TEST_F(SamTest, PromptEncodingMatchesPyTorch) {
  const auto impl = tiny_impl();
  const auto io = read_io(tiny());
  EXPECT_LT(rel_diff(impl->prompt_encoder.dense_positional_encoding(), io.at("dense_pe")), kTol);
  const auto get = [&](const std::string& k) { return io.count(k) ? io.at(k) : at::Tensor(); };
  for (const std::string c : {"box", "points", "box_points", "mask_points"}) {
    SCOPED_TRACE(c);
    const auto [sparse, dense] =
        impl->prompt_encoder(get(c + ".points"), get(c + ".labels"), get(c + ".boxes"), get(c + ".masks"), 2);
    EXPECT_LT(rel_diff(sparse, io.at(c + ".sparse")), kTol);
    EXPECT_LT(rel_diff(dense, io.at(c + ".dense")), kTol);
  }
}

TEST_F(SamTest, BoxCornersAsLabelledPointsEqualTheBoxEmbedding) {
  // SAM's ONNX interface passes a box as two points with labels 2 and 3.
  const auto impl = tiny_impl();
  const at::Tensor boxes = at::tensor({10.f, 20.f, 150.f, 200.5f, 0.f, 3.f, 255.f, 99.f}).view({2, 4});
  const at::Tensor labels = at::tensor({2, 3, 2, 3}).view({2, 2});
  const at::Tensor as_points = impl->prompt_encoder.embed_points(boxes.view({2, 2, 2}), labels, false);
  EXPECT_LT(rel_diff(as_points, impl->prompt_encoder.embed_boxes(boxes)), 1e-6);
}

TEST_F(SamTest, MaskDecoderEndToEndMatchesPyTorch) {
  const SamModel model = SamModel::load(tiny() / "weights.pth", c10::Device(c10::kCPU), Precision::FP32);
  const auto io = read_io(tiny());
  const at::Tensor emb = io.at("neck_out")[0];  // [256,16,16]
  const auto get = [&](const std::string& k) { return io.count(k) ? io.at(k) : at::Tensor(); };
  for (const std::string c : {"box", "points", "box_points", "mask_points"}) {
    SCOPED_TRACE(c);
    SamModel::Prompts p{get(c + ".points"), get(c + ".labels"), get(c + ".boxes"), get(c + ".masks")};
    const auto multi = model.decode(emb, p, true);
    EXPECT_EQ(multi.low_res_logits.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
    EXPECT_LT(rel_diff(multi.low_res_logits, io.at(c + ".low_res").slice(1, 1)), kTol);
    EXPECT_LT(rel_diff(multi.iou, io.at(c + ".iou").slice(1, 1)), kTol);
    const auto single = model.decode(emb.unsqueeze(0), p, false);
    EXPECT_LT(rel_diff(single.low_res_logits, io.at(c + ".low_res").slice(1, 0, 1)), kTol);
    EXPECT_LT(rel_diff(single.iou, io.at(c + ".iou").slice(1, 0, 1)), kTol);
  }
}

TEST_F(SamTest, PromptsOfSeveralImagesInOneCallEqualEachImageDecodedAlone) {
  const SamModel model = SamModel::load(tiny() / "weights.pth", c10::Device(c10::kCPU), Precision::FP32);
  const auto io = read_io(tiny());
  const at::Tensor a = io.at("neck_out")[0];
  const at::Tensor b = a.flip({2}) * 0.7 + 0.1;  // another image
  const at::Tensor boxes = io.at("box.boxes");     // [2,4]
  const at::Tensor points = io.at("points.points"), labels = io.at("points.labels");
  const auto alone = [&](const at::Tensor& emb, const SamModel::Prompts& p, bool multi) {
    return model.decode(emb, p, multi);
  };
  const auto pick = [](const at::Tensor& t, std::vector<int64_t> rows) {
    return t.index_select(0, torch::tensor(rows, torch::kLong));
  };
  for (const bool multi : {false, true}) {
    SCOPED_TRACE(multi);
    // Boxes: prompts 0 and 2 on image a, prompt 1 on image b (a shared with two prompts).
    const at::Tensor three = torch::cat({boxes, boxes.slice(0, 0, 1) + 3}, 0);
    SamModel::Prompts together{{}, {}, three, {}};
    together.image_index = torch::tensor({0, 1, 0}, torch::kLong);
    const auto both = model.decode(torch::stack({a, b}), together, multi);
    const auto on_a = alone(a, {{}, {}, pick(three, {0, 2}), {}}, multi);
    const auto on_b = alone(b, {{}, {}, pick(three, {1}), {}}, multi);
    EXPECT_LT(rel_diff(pick(both.low_res_logits, {0, 2}), on_a.low_res_logits), 1e-5);
    EXPECT_LT(rel_diff(pick(both.iou, {0, 2}), on_a.iou), 1e-5);
    EXPECT_LT(rel_diff(pick(both.low_res_logits, {1}), on_b.low_res_logits), 1e-5);
    EXPECT_LT(rel_diff(pick(both.iou, {1}), on_b.iou), 1e-5);
    // Points, and a mask input (no shared image tokens: each prompt's own embedding).
    SamModel::Prompts pts{points, labels, {}, {}};
    pts.image_index = torch::tensor({1, 0}, torch::kLong);
    const auto p_both = model.decode(torch::stack({a, b}), pts, multi);
    EXPECT_LT(rel_diff(p_both.low_res_logits[0], alone(b, {pick(points, {0}), pick(labels, {0}), {}, {}}, multi).low_res_logits[0]), 1e-5);
    EXPECT_LT(rel_diff(p_both.low_res_logits[1], alone(a, {pick(points, {1}), pick(labels, {1}), {}, {}}, multi).low_res_logits[0]), 1e-5);
    const at::Tensor masks = io.at("mask_points.masks");
    SamModel::Prompts m{io.at("mask_points.points"), io.at("mask_points.labels"), {}, masks};
    m.image_index = torch::tensor({1, 1}, torch::kLong);
    const auto m_both = model.decode(torch::stack({a, b}), m, multi);
    SamModel::Prompts m_alone{io.at("mask_points.points"), io.at("mask_points.labels"), {}, masks};
    EXPECT_LT(rel_diff(m_both.low_res_logits, alone(b, m_alone, multi).low_res_logits), 1e-5);
  }
  // The fixture's reference still holds when its prompts are decoded next to another image's.
  SamModel::Prompts ref{{}, {}, torch::cat({boxes, boxes}, 0), {}};
  ref.image_index = torch::tensor({0, 0, 1, 1}, torch::kLong);
  const auto out = model.decode(torch::stack({a, b}), ref, false);
  EXPECT_LT(rel_diff(out.low_res_logits.slice(0, 0, 2), io.at("box.low_res").slice(1, 0, 1)), kTol);
  // Bad indices: out of range, wrong length, and several embeddings without an index.
  SamModel::Prompts bad{{}, {}, boxes, {}};
  bad.image_index = torch::tensor({0, 2}, torch::kLong);
  EXPECT_EQ(capture_error([&] { model.decode(torch::stack({a, b}), bad, false); }).code(), ExitCode::BadInput);
  bad.image_index = torch::tensor({0}, torch::kLong);
  EXPECT_EQ(capture_error([&] { model.decode(torch::stack({a, b}), bad, false); }).code(), ExitCode::BadInput);
  bad.image_index = at::Tensor();
  EXPECT_EQ(capture_error([&] { model.decode(torch::stack({a, b}), bad, false); }).code(), ExitCode::BadInput);
}

TEST_F(SamTest, Bf16EncoderStaysCloseToFloat32) {
  const SamModel model = SamModel::load(tiny() / "weights.pth", c10::Device(c10::kCPU), Precision::BF16);
  const auto io = read_io(tiny());
  const at::Tensor emb = model.encode(io.at("images"));
  EXPECT_EQ(emb.scalar_type(), at::kFloat);
  const double rel = ((emb - io.at("neck_out")).norm() / io.at("neck_out").norm()).item<double>();
  EXPECT_LT(rel, 0.05);
  EXPECT_GT(rel, 0.0);  // really computed in bf16
}

TEST_F(SamTest, MedSamTrainingCheckpointLoads) {
  const fs::path dir = sam_fixture("sam-tiny-seed0-training", "--preset tiny --seed 0 --weights-only --training-checkpoint");
  const SamModel model = SamModel::load(dir / "weights.pth", c10::Device(c10::kCPU), Precision::FP32);
  const auto io = read_io(tiny());
  SamModel::Prompts p{{}, {}, io.at("box.boxes"), {}};
  const auto out = model.decode(io.at("neck_out")[0], p, false);
  EXPECT_LT(rel_diff(out.low_res_logits, io.at("box.low_res").slice(1, 0, 1)), kTol);
}

TEST_F(SamTest, MissingExtraAndMisshapedParametersAreBadModel) {
  auto w = tiny_weights();
  const SamConfig c = detect_sam_config(w, "tiny");
  const auto load = [&](const std::vector<std::pair<std::string, at::Tensor>>& weights) {
    detail::SamImpl impl(c, c10::Device(c10::kCPU), Precision::FP32);
    impl.load_weights(weights, "ckpt.pth");
  };
  auto missing = w;
  missing.erase(std::find_if(missing.begin(), missing.end(),
                             [](const auto& kv) { return kv.first == "mask_decoder.iou_token.weight"; }));
  Error e = capture_error([&] { load(missing); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("'ckpt.pth': missing parameter 'mask_decoder.iou_token.weight'"),
            std::string::npos) << e.what();

  auto extra = w;
  extra.emplace_back("mask_decoder.extra.weight", at::zeros({2}));
  e = capture_error([&] { load(extra); });
  EXPECT_NE(std::string(e.what()).find("unexpected parameter 'mask_decoder.extra.weight'"), std::string::npos) << e.what();

  auto shaped = w;
  for (auto& kv : shaped)
    if (kv.first == "prompt_encoder.no_mask_embed.weight") kv.second = at::zeros({1, 128});
  e = capture_error([&] { load(shaped); });
  EXPECT_NE(std::string(e.what()).find("'prompt_encoder.no_mask_embed.weight' has shape [1, 128]"), std::string::npos)
      << e.what();
}

TEST_F(SamTest, NonSamAndTruncatedFilesAreBadModel) {
  std::vector<std::pair<std::string, at::Tensor>> unet{{"encoder.stages.0.0.convs.0.conv.weight", at::zeros({4, 1, 3, 3})}};
  Error e = capture_error([&] { detect_sam_config(unet, "unet.pth"); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("'unet.pth': not a SAM checkpoint"), std::string::npos) << e.what();

  const fs::path dir = test_support::fresh_dir(VOXSEG_SAM_TEST_TMP, "truncated");
  {
    std::ifstream in(tiny() / "weights.pth", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir / "cut.pth", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  e = capture_error([&] { SamModel::load(dir / "cut.pth", c10::Device(c10::kCPU), Precision::FP32); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("cut.pth"), std::string::npos) << e.what();
  e = capture_error([&] { SamModel::load(dir / "absent.pth", c10::Device(c10::kCPU), Precision::FP32); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  fs::remove_all(dir);
}

TEST_F(SamTest, BadInputShapesAreBadInput) {
  const SamModel model = SamModel::load(tiny() / "weights.pth", c10::Device(c10::kCPU), Precision::FP32);
  EXPECT_EQ(capture_error([&] { model.encode(at::zeros({1, 3, 128, 128})); }).code(), ExitCode::BadInput);
  const at::Tensor emb = at::zeros({256, 16, 16});
  EXPECT_EQ(capture_error([&] { model.decode(emb, {}, true); }).code(), ExitCode::BadInput);
  SamModel::Prompts p{{}, {}, at::zeros({2, 3}), {}};
  EXPECT_EQ(capture_error([&] { model.decode(emb, p, true); }).code(), ExitCode::BadInput);
  SamModel::Prompts q{at::zeros({1, 2, 2}), at::zeros({1, 2}), at::zeros({2, 4}), {}};
  EXPECT_EQ(capture_error([&] { model.decode(emb, q, true); }).code(), ExitCode::BadInput);
  SamModel::Prompts r{{}, {}, at::zeros({1, 4}), {}};
  EXPECT_EQ(capture_error([&] { model.decode(at::zeros({256, 8, 8}), r, true); }).code(), ExitCode::BadInput);
}

}  // namespace
}  // namespace voxseg::models::test
