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

// bf16 gets freezing (optimize_for_inference's oneDNN conversion is float32-only in 1.13), and its
// transposed convolutions run in float32 (LibTorch 1.13's CPU bf16 transposed convolution throws).
TEST(TorchScriptOptimize, ReducedPrecisionIsFrozenWithTransposedConvsInFloat) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto dir = test::scratch_dir("torchscript-bf16-frozen");
  const auto io = make_scripted_bundle(dir, 23, "1,1,4,8,8");
  torch::jit::Module loaded = torch::jit::load((dir / "model.pt").string(), torch::kCPU);
  loaded.eval();
  loaded.to(at::kBFloat16);
  const at::Tensor input = io.at("input").to(at::kBFloat16);
  // The failure this works around: the cast module as loaded cannot run its transposed conv.
  EXPECT_THROW(loaded.forward({input}), std::exception);
  const auto result = detail::optimize_torchscript(loaded, torch::kCPU, at::kBFloat16, "fixture");
  EXPECT_EQ(result.passes, "freeze+float_transposed_convs");
  EXPECT_EQ(result.error, "");
  torch::jit::Module frozen = result.module;
  const at::Tensor out = frozen.forward({input}).toTensor();
  EXPECT_EQ(out.scalar_type(), at::kBFloat16);
  // bf16 keeps 8 bits of mantissa: compare with the float32 output relative to its range.
  const double range = io.at("output").abs().max().item<double>();
  EXPECT_LT(max_abs_diff(out.to(at::kFloat), io.at("output")), 0.05 * range);
}

// predict --precision bf16 on a TorchScript bundle with a transposed convolution runs, and its
// labels agree with float32 almost everywhere.
TEST(TorchScriptOptimize, Bf16BundleWithTransposedConvRunsThroughNetwork) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto dir = test::scratch_dir("torchscript-bf16-network");
  const auto io = make_scripted_bundle(dir, 24, "2,1,8,16,16");
  const ModelBundle bundle = load_bundle(dir, "cpu");
  const at::Tensor fp32 = make_network(bundle, torch::kCPU, Precision::FP32)->forward(io.at("input"));
  const at::Tensor bf16 = make_network(bundle, torch::kCPU, Precision::BF16)->forward(io.at("input"));
  ASSERT_EQ(bf16.scalar_type(), at::kFloat);
  ASSERT_EQ(bf16.sizes(), fp32.sizes());
  const double agreement = bf16.argmax(1).eq(fp32.argmax(1)).to(at::kDouble).mean().item<double>();
  EXPECT_GE(agreement, 0.97);
}

}  // namespace
}  // namespace voxseg::models
