// The engine's bookkeeping with a fake network whose masks cover the whole slice: what ends up
// labelled is decided by boxes, merge modes and overlaps alone, independent of model quality.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../shared_test_support.h"
#include "voxseg/refine/engine.h"

namespace fs = std::filesystem;
using namespace voxseg;
using namespace voxseg::refine;

namespace {

// Encoder: an 4x4 "embedding" of the mean intensity. Decoder: constant logits `value` (3 masks with
// IoU 0.1, 0.9, 0.5 for multimask), so every mask is the whole slice before clipping to its box.
class FakeNetwork : public PromptNetwork {
 public:
  explicit FakeNetwork(float value = 5.0f) : value_(value) {}
  int64_t image_size() const override { return 64; }
  std::string identity() const override { return "fake"; }
  at::Tensor encode(const at::Tensor& images) override {
    encoded += images.size(0);
    return images.mean({1, 2, 3}, true).expand({images.size(0), 8, 4, 4}).contiguous();
  }
  Decoded decode(const at::Tensor& embeddings, const at::Tensor& image_index, const at::Tensor& points,
                 const at::Tensor& labels, const at::Tensor& box, bool multimask) override {
    const int64_t n = box.defined() ? box.size(0) : points.size(0);
    decoded += n;
    ++calls;
    EXPECT_EQ(embeddings.size(0), image_index.defined() ? image_index.max().item<int64_t>() + 1 : 1);
    for (int64_t i = 0; i < n; ++i) boxes.push_back(box.defined() ? box.slice(0, i, i + 1) : at::Tensor());
    last_box = boxes.back();
    const int64_t k = multimask ? 3 : 1;
    at::Tensor logits = torch::full({n, k, 16, 16}, value_);
    if (region) logits.fill_(-value_).slice(2, 4, 8).slice(3, 4, 8).fill_(value_);  // low-res rows/cols 4..7
    const at::Tensor iou = multimask ? torch::tensor({0.1f, 0.9f, 0.5f}) : torch::tensor({0.7f});
    return {logits, iou.unsqueeze(0).expand({n, k}).contiguous()};
  }
  int64_t encoded = 0, decoded = 0, calls = 0;
  bool region = false;  ///< masks only in a fixed square instead of everywhere
  at::Tensor last_box;
  std::vector<at::Tensor> boxes;

 private:
  float value_;
};

at::Tensor box_mask(int64_t h, int64_t w, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  at::Tensor m = torch::zeros({h, w}, torch::kBool);
  m.slice(0, y0, y1 + 1).slice(1, x0, x1 + 1).fill_(true);
  return m;
}

}  // namespace

TEST(Engine, LabelMapRefineWithFullMasksGivesComponentBoxesPerMode) {
  at::Tensor initial = torch::zeros({2, 12, 16}, torch::kShort);
  initial[0].slice(0, 2, 5).slice(1, 2, 4).fill_(1);  // L-shape: rows 2..4 x 2..3 plus row 4 x 4..6
  initial[0][4].slice(0, 4, 7).fill_(1);
  initial[0].slice(0, 8, 10).slice(1, 10, 12).fill_(2);
  const at::Tensor image = torch::randint(0, 256, {2, 12, 16}, torch::kByte);
  FakeNetwork net;
  EngineOptions opt;
  const PromptSet prompts = prompts_from_labels(initial, Axis::Z, 1);
  // Replace: each component's box (+1 margin) filled with its label; slice 1 had no labels and stays 0.
  const EngineResult r = run_engine(image, prompts, net, opt, EmbeddingCache(), initial);
  at::Tensor expected = torch::zeros({2, 12, 16}, torch::kShort);
  expected[0].masked_fill_(box_mask(12, 16, 1, 1, 7, 5), 1);
  expected[0].masked_fill_(box_mask(12, 16, 9, 7, 12, 10), 2);
  EXPECT_TRUE(torch::equal(r.labels, expected));
  EXPECT_EQ(net.encoded, 1);  // one prompted slice, encoded once for two prompts
  EXPECT_EQ(net.decoded, 2);
  // Intersect with full masks inside the boxes gives back the initial map; union gives the boxes.
  opt.mode = MergeMode::Intersect;
  EXPECT_TRUE(torch::equal(run_engine(image, prompts, net, opt, EmbeddingCache(), initial).labels, initial));
  opt.mode = MergeMode::Union;
  EXPECT_TRUE(torch::equal(run_engine(image, prompts, net, opt, EmbeddingCache(), initial).labels, expected));
  // Negative logits everywhere: replace empties the map, union keeps the initial one.
  FakeNetwork off(-5.0f);
  EXPECT_TRUE(torch::equal(run_engine(image, prompts, off, opt, EmbeddingCache(), initial).labels, initial));
  opt.mode = MergeMode::Replace;
  EXPECT_EQ(run_engine(image, prompts, off, opt, EmbeddingCache(), initial).labels.count_nonzero().item<int64_t>(), 0);
}

TEST(Engine, MergeSliceModesOnHandMadeLogits) {
  // Two labels (1, 5) on a 1x4 slice; logits per label; initial labels.
  const at::Tensor logits = torch::tensor({{2.f, -1.f, 3.f, -2.f}, {1.f, 4.f, -1.f, -3.f}}).view({2, 1, 4});
  const at::Tensor initial = torch::tensor({5, 1, 0, 5}, torch::kShort).view({1, 4});
  const std::vector<int64_t> values{1, 5};
  auto as_vec = [](const at::Tensor& t) { return std::vector<int16_t>(t.data_ptr<int16_t>(), t.data_ptr<int16_t>() + t.numel()); };
  EXPECT_EQ(as_vec(merge_slice(logits, values, initial, MergeMode::Replace)), (std::vector<int16_t>{1, 5, 1, 0}));
  EXPECT_EQ(as_vec(merge_slice(logits, values, initial, MergeMode::Intersect)), (std::vector<int16_t>{5, 0, 0, 0}));
  EXPECT_EQ(as_vec(merge_slice(logits, values, initial, MergeMode::Union)), (std::vector<int16_t>{5, 1, 1, 5}));
}

TEST(Engine, CacheHitSkipsTheEncoderAndGivesTheSameLabels) {
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "voxseg-embcache");
  const at::Tensor image = torch::randint(0, 256, {5, 20, 30}, torch::kByte);
  const PromptSet prompts = prompts_from_cli({parse_box("3,4,20,15,1,3")}, {}, {30, 20, 5}, false);
  EngineOptions opt;
  opt.batch_size = 2;
  const EmbeddingCache cache(dir);
  FakeNetwork cold, warm;
  const EngineResult a = run_engine(image, prompts, cold, opt, cache);
  const EngineResult b = run_engine(image, prompts, warm, opt, cache);
  EXPECT_EQ(cold.encoded, 3);
  EXPECT_EQ(warm.encoded, 0);
  EXPECT_EQ(b.report.find("counts")->find("cache_hits")->as_int(), 3);
  EXPECT_EQ(b.report.find("counts")->find("encoded")->as_int(), 0);
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  // Another preset is another key.
  opt.preset = Preset::MedSam;
  FakeNetwork other;
  run_engine(image, prompts, other, opt, cache);
  EXPECT_EQ(other.encoded, 3);
}

TEST(Engine, BoxesAreScaledToTheModelFrameAndMultimaskPicksTheBestIou) {
  const at::Tensor image = torch::randint(0, 256, {1, 32, 16}, torch::kByte);
  FakeNetwork net;
  EngineOptions opt;
  PromptSet prompts = prompts_from_cli({parse_box("2,4,10,20")}, {}, {16, 32, 1}, true);
  const EngineResult r = run_engine(image, prompts, net, opt, EmbeddingCache());
  // Sam preset: longest side 32 -> 64, scale 2 on both axes.
  EXPECT_TRUE(torch::allclose(net.last_box, torch::tensor({4.f, 8.f, 20.f, 40.f}).view({1, 4})));
  EXPECT_FALSE(r.report.find("prompts")->as_array()[0].find("multimask")->as_bool());
  // A single point: multimask on by default, mask 1 (IoU 0.9) chosen; no box, so the whole slice.
  prompts = prompts_from_cli({}, {parse_point("3,3:1")}, {16, 32, 1}, true);
  const EngineResult p = run_engine(image, prompts, net, opt, EmbeddingCache());
  EXPECT_EQ(p.report.find("prompts")->as_array()[0].find("mask_index")->as_int(), 1);
  EXPECT_EQ(p.labels.count_nonzero().item<int64_t>(), 32 * 16);
  opt.multimask = Multimask::Off;
  EXPECT_EQ(run_engine(image, prompts, net, opt, EmbeddingCache()).report.find("prompts")->as_array()[0].find("mask_index")->as_int(), 0);
}

TEST(Engine, PropagateTightensEachSliceBoxToThePreviousMask) {
  // 64x64 slices, image size 64: model frame = pixels. The fake's mask is the square 16..31 (low-res 4..7).
  const at::Tensor image = torch::randint(0, 256, {3, 64, 64}, torch::kByte);
  const PromptSet prompts = prompts_from_cli({parse_box("10,12,40,50,0,2")}, {}, {64, 64, 3}, false);
  EngineOptions opt;
  opt.propagate = true;
  opt.margin = 2;
  FakeNetwork net;
  net.region = true;
  const EngineResult r = run_engine(image, prompts, net, opt, EmbeddingCache());
  ASSERT_EQ(net.boxes.size(), 3u);
  EXPECT_TRUE(torch::equal(net.boxes[0], torch::tensor({10.f, 12.f, 40.f, 50.f}).view({1, 4})));
  // The mask on slice 0 spans 16..31 (inside the box); slice 1's box is that grown by 2.
  EXPECT_TRUE(torch::equal(net.boxes[1], torch::tensor({14.f, 14.f, 33.f, 33.f}).view({1, 4})));
  EXPECT_TRUE(torch::equal(net.boxes[2], torch::tensor({14.f, 14.f, 33.f, 33.f}).view({1, 4})));
  at::Tensor expected = torch::zeros({3, 64, 64}, torch::kShort);
  expected.slice(1, 16, 32).slice(2, 16, 32).fill_(1);
  for (const int64_t y : {16, 31})  // bilinear upsampling rounds the square's corners off
    for (const int64_t x : {16, 31}) expected.select(1, y).select(1, x).fill_(0);
  EXPECT_TRUE(torch::equal(r.labels, expected)) << r.labels.sum({1, 2});
  // Without --propagate every slice gets the given box.
  FakeNetwork plain;
  plain.region = true;
  opt.propagate = false;
  run_engine(image, prompts, plain, opt, EmbeddingCache());
  EXPECT_TRUE(torch::equal(plain.boxes[2], torch::tensor({10.f, 12.f, 40.f, 50.f}).view({1, 4})));
}
