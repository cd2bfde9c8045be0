// The engine with a real (tiny, random-weight) SAM: the prompts of consecutive slices decoded in one
// call (EngineOptions::decode_batch) give the masks, IoUs, logits and counts of slice-by-slice decoding.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "../models/sam_test_support.h"
#include "voxseg/refine/engine.h"

namespace fs = std::filesystem;
using namespace voxseg;
using namespace voxseg::refine;

namespace {

// Forwards to SAM and records how many decoder calls were made and how many slices they mixed.
class CountingNetwork : public PromptNetwork {
 public:
  explicit CountingNetwork(PromptNetwork& inner) : inner_(inner) {}
  int64_t image_size() const override { return inner_.image_size(); }
  std::string identity() const override { return inner_.identity(); }
  at::Tensor encode(const at::Tensor& images) override { return inner_.encode(images); }
  Decoded decode(const at::Tensor& embeddings, const at::Tensor& image_index, const at::Tensor& points,
                 const at::Tensor& labels, const at::Tensor& box, bool multimask) override {
    ++calls;
    most_images = std::max(most_images, embeddings.size(0));
    return inner_.decode(embeddings, image_index, points, labels, box, multimask);
  }
  int64_t calls = 0, most_images = 0;

 private:
  PromptNetwork& inner_;
};

// 6 slices of 40x48: 0, 1, 2 or 3 components per slice, two labels, and a point prompt on slice 4.
PromptSet test_prompts(at::Tensor& labels) {
  labels = torch::zeros({6, 40, 48}, torch::kShort);
  labels[0].slice(0, 5, 20).slice(1, 6, 30).fill_(1);
  labels[1].slice(0, 2, 12).slice(1, 3, 15).fill_(1);
  labels[1].slice(0, 25, 38).slice(1, 30, 45).fill_(1);
  labels[1].slice(0, 20, 30).slice(1, 5, 12).fill_(2);
  labels[3].slice(0, 10, 30).slice(1, 10, 40).fill_(2);
  labels[4].slice(0, 4, 9).slice(1, 4, 9).fill_(1);
  labels[5].slice(0, 0, 40).slice(1, 0, 48).fill_(2);
  PromptSet p = prompts_from_labels(labels, Axis::Z, 2);
  SlicePrompt point;
  point.slice = 4;
  point.label = 2;
  point.points = {Point{30, 20, true}};
  p.prompts.push_back(point);
  return p;
}

void expect_same(const EngineResult& a, const EngineResult& b) {
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_LT((a.logits - b.logits).abs().max().item<double>(), 1e-5 * std::max(1.0, a.logits.abs().max().item<double>()));
  EXPECT_EQ(a.report.find("counts")->dump(), b.report.find("counts")->dump());
  const auto& pa = a.report.find("prompts")->as_array();
  const auto& pb = b.report.find("prompts")->as_array();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    SCOPED_TRACE(pa[i].dump());
    for (const char* key : {"slice", "label", "box", "points", "multimask", "mask_index", "pixels"}) {
      const Json* x = pa[i].find(key);
      const Json* y = pb[i].find(key);
      ASSERT_EQ(x == nullptr, y == nullptr) << key;
      if (x) {
        EXPECT_EQ(x->dump(), y->dump()) << key;
      }
    }
    EXPECT_NEAR(pa[i].find("iou")->as_double(), pb[i].find("iou")->as_double(), 1e-5);
  }
}

}  // namespace

TEST(RefineSam, SlicesDecodedTogetherEqualSliceBySlice) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const fs::path dir = models::test::sam_fixture("sam-tiny-seed0", "--preset tiny --seed 0 --weights-only");
  auto sam = load_sam_network(dir / "weights.pth", "cpu", "fp32");
  at::Tensor labels;
  const PromptSet prompts = test_prompts(labels);
  const at::Tensor image = torch::randint(0, 256, {6, 40, 48}, torch::TensorOptions(torch::kByte));
  EngineOptions by_slice;
  by_slice.decode_batch = 1;
  by_slice.want_logits = true;
  CountingNetwork one(*sam);
  const EngineResult a = run_engine(image, prompts, one, by_slice, EmbeddingCache(), labels);
  EXPECT_EQ(a.report.find("counts")->find("prompts")->as_int(), int64_t(prompts.prompts.size()));
  EXPECT_EQ(one.most_images, 1);
  for (const int64_t batch : {3, 16}) {
    SCOPED_TRACE(batch);
    EngineOptions together = by_slice;
    together.decode_batch = batch;
    CountingNetwork many(*sam);
    const EngineResult b = run_engine(image, prompts, many, together, EmbeddingCache(), labels);
    EXPECT_LT(many.calls, one.calls);
    EXPECT_GT(many.most_images, 1);
    expect_same(a, b);
  }
  // Propagation decodes slice by slice whatever decode_batch says (each box depends on the last mask).
  EngineOptions propagate = by_slice;
  propagate.propagate = true;
  propagate.margin = 1;
  CountingNetwork p1(*sam);
  const EngineResult c = run_engine(image, prompts, p1, propagate, EmbeddingCache(), labels);
  propagate.decode_batch = 16;
  CountingNetwork p16(*sam);
  expect_same(c, run_engine(image, prompts, p16, propagate, EmbeddingCache(), labels));
  EXPECT_EQ(p16.most_images, 1);
  EXPECT_EQ(p16.calls, p1.calls);
}
