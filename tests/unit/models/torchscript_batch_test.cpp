// A TorchScript module that only takes one tile per call (a traced export with its example's batch
// size baked in) still runs batches: the backend falls back to one tile per call, without an error,
// because the engine batches mirrored copies of a tile on its own.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "test_support.h"
#include "voxseg/models/bundle.h"

namespace voxseg::models {
namespace {

namespace fs = std::filesystem;

// Saves a scripted module with `body` as its forward (argument x) as a 2-label TorchScript bundle.
fs::path write_module_bundle(const std::string& name, const std::string& body) {
  const auto dir = test::scratch_dir(name);
  torch::jit::Module m("BatchOne");
  m.define("def forward(self, x):\n" + body);
  m.save((dir / "model.pt").string());
  test::write_json(dir / "model.json", test::torchscript_json(2));
  return dir;
}

void expect_logits_of_every_tile(Network& net) {
  const at::Tensor tiles = torch::randn({5, 1, 4, 6, 8});
  const at::Tensor out = net.forward(tiles);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{5, 2, 4, 6, 8}));
  EXPECT_TRUE(torch::equal(out, torch::cat({-tiles, tiles}, 1)));
  // Later calls go tile by tile straight away, and single tiles still work.
  EXPECT_TRUE(torch::equal(net.forward(tiles.narrow(0, 1, 3)), torch::cat({-tiles, tiles}, 1).narrow(0, 1, 3)));
  EXPECT_TRUE(torch::equal(net.forward(tiles.narrow(0, 4, 1)), torch::cat({-tiles, tiles}, 1).narrow(0, 4, 1)));
}

TEST(TorchScriptBatch, ModuleThatFailsOnABatchRunsTileByTile) {
  const auto dir = write_module_bundle(
      "torchscript-batch-one-error",
      "    y = x.reshape([1, x.size(1), x.size(2), x.size(3), x.size(4)])\n"
      "    return torch.cat([-y, y], 1)\n");
  auto net = make_network(load_bundle(dir, "cpu"));
  expect_logits_of_every_tile(*net);
}

TEST(TorchScriptBatch, ModuleThatReturnsOneTileForABatchRunsTileByTile) {
  const auto dir = write_module_bundle("torchscript-batch-one-shape",
                                       "    return torch.cat([-x, x], 1)[0:1]\n");
  auto net = make_network(load_bundle(dir, "cpu"));
  expect_logits_of_every_tile(*net);
}

TEST(TorchScriptBatch, ModuleThatFailsOnEveryTileIsStillABadModel) {
  const auto dir = write_module_bundle("torchscript-batch-broken", "    return x.reshape([7, 7])\n");
  auto net = make_network(load_bundle(dir, "cpu"));
  try {
    net->forward(torch::randn({3, 1, 4, 6, 8}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::BadModel) << e.what();
    EXPECT_NE(std::string(e.what()).find("failed on tiles [3, 1, 4, 6, 8]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace voxseg::models
