// TorchScript bundles run frozen and optimized for inference (detail/torchscript_optimize.h): the
// optimized path must compute what the module as loaded computes, and a pass that throws must leave
// the module as loaded in place.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "test_support.h"
#include "voxseg/models/bundle.h"
#include "voxseg/models/detail/torchscript_optimize.h"

namespace voxseg::models {
namespace {

namespace fs = std::filesystem;
using test::max_abs_diff;

// Writes the scripted fixture (make_torchscript_fixture.py) and its bundle; returns {input, output}.
std::map<std::string, at::Tensor> make_scripted_bundle(const fs::path& dir, int seed, const std::string& shape) {
  const std::string cmd = "/usr/bin/python3 '" + std::string(VOXSEG_TORCHSCRIPT_FIXTURE_SCRIPT) + "' '" + dir.string() +
                          "' " + std::to_string(seed) + " 3 " + shape;
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("fixture script failed: " + cmd);
  test::write_json(dir / "model.json", test::torchscript_json(3));
  std::map<std::string, at::Tensor> io;
  for (const auto& [name, tensor] : read_weights(dir / "io.pth")) io[name] = tensor;
  return io;
}

// Sets VOXSEG_TORCHSCRIPT_OPTIMIZE for one scope.
struct OptimizeSwitch {
  explicit OptimizeSwitch(bool on) { ::setenv("VOXSEG_TORCHSCRIPT_OPTIMIZE", on ? "1" : "0", 1); }
  ~OptimizeSwitch() { ::unsetenv("VOXSEG_TORCHSCRIPT_OPTIMIZE"); }
};

TEST(TorchScriptOptimize, FrozenAndOptimizedEqualsModuleAsLoadedOnScriptedUNet) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto dir = test::scratch_dir("torchscript-frozen");
  const auto io = make_scripted_bundle(dir, 21, "2,1,8,16,16");

  // The passes really apply to this module (no silent fallback hides a broken rewrite).
  torch::jit::Module loaded = torch::jit::load((dir / "model.pt").string(), torch::kCPU);
  loaded.eval();
  const auto optimized = detail::optimize_torchscript(loaded, torch::kCPU, at::kFloat, "fixture");
  EXPECT_EQ(optimized.passes, "freeze+optimize_for_inference");
  EXPECT_EQ(optimized.error, "");
  // Freezing inlined the parameters: the optimized module has none left.
  EXPECT_EQ(optimized.module.parameters().size(), 0u);
  EXPECT_GT(loaded.parameters().size(), 0u);

  const ModelBundle bundle = load_bundle(dir, "cpu");
  at::Tensor plain, fast;
  {
    OptimizeSwitch off(false);
    plain = make_network(bundle)->forward(io.at("input"));
  }
  {
    OptimizeSwitch on(true);
    const auto network = make_network(bundle);
    fast = network->forward(io.at("input"));
    // Another tile shape (and batch size) through the same optimized module.
    const at::Tensor other = torch::randn({1, 1, 4, 8, 12});
    const at::Tensor expected = loaded.forward({other}).toTensor();
    EXPECT_LT(max_abs_diff(network->forward(other), expected), 1e-4);
  }
  EXPECT_LT(max_abs_diff(plain, io.at("output")), 1e-4);
  EXPECT_LT(max_abs_diff(fast, plain), 1e-4);
}

TEST(TorchScriptOptimize, PassThatThrowsLeavesModuleAsLoaded) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto dir = test::scratch_dir("torchscript-fallback");
  const auto io = make_scripted_bundle(dir, 22, "1,1,4,8,8");
  torch::jit::Module loaded = torch::jit::load((dir / "model.pt").string(), torch::kCPU);
  loaded.train();  // freezing refuses a module in training mode
  auto result = detail::optimize_torchscript(loaded, torch::kCPU, at::kFloat, "fixture");
  EXPECT_EQ(result.passes, "none");
  EXPECT_NE(result.error.find("freeze"), std::string::npos) << result.error;
  EXPECT_GT(result.module.parameters().size(), 0u);
  result.module.eval();
  EXPECT_LT(max_abs_diff(result.module.forward({io.at("input")}).toTensor(), io.at("output")), 1e-4);
}

// bf16 gets freezing only (optimize_for_inference's oneDNN conversion is float32-only in 1.13).
TEST(TorchScriptOptimize, ReducedPrecisionIsFrozenOnly) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto dir = test::scratch_dir("torchscript-bf16-frozen");
  make_scripted_bundle(dir, 23, "1,1,4,8,8");
  torch::jit::Module loaded = torch::jit::load((dir / "model.pt").string(), torch::kCPU);
  loaded.eval();
  loaded.to(at::kBFloat16);
  const auto result = detail::optimize_torchscript(loaded, torch::kCPU, at::kBFloat16, "fixture");
  EXPECT_EQ(result.passes, "freeze");
  EXPECT_EQ(result.error, "");
}

}  // namespace
}  // namespace voxseg::models
