#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>

#include "test_support.h"
#include "voxseg/models/unet.h"
#include "voxseg/models/unet_config.h"

namespace voxseg::models {
namespace {

using test::capture_error;
using test::max_abs_diff;

std::vector<std::string> keys_of(const StateDict& sd) {
  std::vector<std::string> out;
  for (const auto& [name, tensor] : sd) out.push_back(name + " " + test::shape_text(tensor.sizes()));
  return out;
}

Json without(const Json& object, const std::string& key) {
  Json out = Json::object();
  for (const auto& [k, v] : object.as_object())
    if (k != key) out[k] = v;
  return out;
}

TEST(UNetStateDict, NamesAndShapesEqualPyTorchPlainConvUNet3D) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto config = test::anisotropic_3d_config();
  const auto ref = test::make_reference(config, test::scratch_dir("names3d"), 1, {1, 1, 4, 8, 8});
  UNet net(config);
  EXPECT_EQ(keys_of(net.state_dict(/*with_aliases=*/true)), ref.keys);
}

TEST(UNetStateDict, NamesAndShapesEqualPyTorchPlainConvUNet2DBatchNorm) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto config = test::batchnorm_2d_config();
  const auto ref = test::make_reference(config, test::scratch_dir("names2d"), 2, {1, 2, 16, 8});
  UNet net(config);
  EXPECT_EQ(keys_of(net.state_dict(true)), ref.keys);
  // Without aliases: only canonical names, each parameter once.
  const auto canonical = net.state_dict(false);
  for (const auto& [name, tensor] : canonical) {
    EXPECT_EQ(name.find("all_modules"), std::string::npos) << name;
    EXPECT_NE(name.rfind("decoder.encoder.", 0), 0u) << name;
  }
  EXPECT_EQ(net.parameters().size(), size_t(std::count_if(canonical.begin(), canonical.end(), [](const auto& e) {
              return e.first.find("running_") == std::string::npos && e.first.find("num_batches") == std::string::npos;
            })));
}

TEST(UNetForward, Anisotropic3DInstanceNormMatchesPyTorch) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto config = test::anisotropic_3d_config();
  const auto ref = test::make_reference(config, test::scratch_dir("fwd3d"), 3, {2, 1, 4, 16, 24});
  UNet net(config);
  load_state_dict(net, ref.weights, "weights.pth");
  net.train(false);
  torch::NoGradGuard no_grad;
  const at::Tensor out = net.forward(ref.io.at("input"));
  ASSERT_EQ(out.sizes(), ref.io.at("output").sizes());
  EXPECT_LT(max_abs_diff(out, ref.io.at("output")), 1e-4);
  // The reference is not trivially small: a wrong weight would show.
  EXPECT_GT(ref.io.at("output").abs().max().item<double>(), 0.1);
}

TEST(UNetWeights, ReadsPyTorchOrderedDictAndNnunetCheckpointFiles) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto config = test::anisotropic_3d_config();
  const auto ref = test::make_reference(config, test::scratch_dir("pthfiles"), 6, {1, 1, 4, 8, 8});
  for (const char* file : {"state_dict.pth", "checkpoint_final.pth"}) {
    const StateDict sd = read_weights(ref.dir / file);
    EXPECT_EQ(sd.size(), ref.keys.size()) << file;
    UNet net(config);
    load_state_dict(net, sd, file);
    net.train(false);
    torch::NoGradGuard no_grad;
    EXPECT_LT(max_abs_diff(net.forward(ref.io.at("input")), ref.io.at("output")), 1e-4) << file;
  }
}

TEST(UNetForward, TwoDimensionalBatchNormEvalMatchesPyTorch) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto config = test::batchnorm_2d_config();
  const auto ref = test::make_reference(config, test::scratch_dir("fwd2d"), 4, {3, 2, 32, 16});
  UNet net(config);
  load_state_dict(net, ref.weights, "weights.pth");
  net.train(false);
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_abs_diff(net.forward(ref.io.at("input")), ref.io.at("output")), 1e-4);
}

TEST(UNetForward, DeepSupervisionHeadsMatchPyTorchInOrder) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto config = test::anisotropic_3d_config();
  const auto ref = test::make_reference(config, test::scratch_dir("ds"), 5, {1, 1, 8, 16, 16});
  UNet net(config);
  load_state_dict(net, ref.weights, "weights.pth");
  net.train(false);
  torch::NoGradGuard no_grad;
  const auto heads = net.forward_all(ref.io.at("input"));
  ASSERT_EQ(heads.size(), size_t(config.n_stages() - 1));
  for (size_t i = 0; i < heads.size(); ++i) {
    const at::Tensor& expected = ref.io.at("ds" + std::to_string(i));
    ASSERT_EQ(heads[i].sizes(), expected.sizes()) << "head " << i;
    EXPECT_LT(max_abs_diff(heads[i], expected), 1e-4) << "head " << i;
  }
  // Full resolution first; the second head is at the first stride's resolution ([1,2,2]).
  EXPECT_EQ(heads[0].sizes(), (std::vector<int64_t>{1, 3, 8, 16, 16}));
  EXPECT_EQ(heads[1].sizes(), (std::vector<int64_t>{1, 3, 8, 8, 8}));
}

// ResidualEncoderUNet (nnU-Net's ResEnc presets): names, shapes and logits against the PyTorch
// reference in make_unet_fixture.py.
TEST(UNetStateDict, NamesAndShapesEqualPyTorchResidualEncoderUNet) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  for (const auto& [name, config, shape] :
       {std::tuple{"resnames3d", test::residual_3d_config(), std::vector<int64_t>{1, 1, 2, 16, 16}},
        std::tuple{"resnames2d", test::residual_2d_config(), std::vector<int64_t>{1, 2, 16, 8}}}) {
    const auto ref = test::make_reference(config, test::scratch_dir(name), 7, shape);
    UNet net(config);
    EXPECT_EQ(keys_of(net.state_dict(true)), ref.keys) << name;
    // Canonical names are what the LibTorch module registers (write_weights, optimizers).
    std::vector<std::string> registered, canonical;
    for (const auto& p : net.module()->named_parameters(true)) registered.push_back(p.key());
    for (const auto& b : net.module()->named_buffers(true)) registered.push_back(b.key());
    for (const auto& [key, tensor] : net.state_dict(false)) canonical.push_back(key);
    std::sort(registered.begin(), registered.end());
    std::sort(canonical.begin(), canonical.end());
    EXPECT_EQ(registered, canonical) << name;
  }
}

TEST(UNetForward, ResidualEncoder3DAnisotropicMatchesPyTorch) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto config = test::residual_3d_config();
  const auto ref = test::make_reference(config, test::scratch_dir("resfwd3d"), 8, {2, 1, 4, 16, 24});
  UNet net(config);
  load_state_dict(net, ref.weights, "weights.pth");
  net.train(false);
  torch::NoGradGuard no_grad;
  const at::Tensor out = net.forward(ref.io.at("input"));
  ASSERT_EQ(out.sizes(), ref.io.at("output").sizes());
  const double diff = max_abs_diff(out, ref.io.at("output"));
  EXPECT_LT(diff, 1e-4);
  EXPECT_GT(ref.io.at("output").abs().max().item<double>(), 0.1);
  std::printf("ResEnc 3D: max |voxseg - PyTorch| = %.3g\n", diff);
  const auto heads = net.forward_all(ref.io.at("input"));
  ASSERT_EQ(heads.size(), size_t(config.n_stages() - 1));
  for (size_t i = 0; i < heads.size(); ++i)
    EXPECT_LT(max_abs_diff(heads[i], ref.io.at("ds" + std::to_string(i))), 1e-4) << "head " << i;
}

TEST(UNetForward, ResidualEncoder2DBatchNormMatchesPyTorch) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto config = test::residual_2d_config();
  const auto ref = test::make_reference(config, test::scratch_dir("resfwd2d"), 9, {3, 2, 32, 16});
  UNet net(config);
  load_state_dict(net, ref.weights, "weights.pth");
  net.train(false);
  torch::NoGradGuard no_grad;
  const double diff = max_abs_diff(net.forward(ref.io.at("input")), ref.io.at("output"));
  EXPECT_LT(diff, 1e-4);
  EXPECT_GT(ref.io.at("output").abs().max().item<double>(), 0.1);
  std::printf("ResEnc 2D: max |voxseg - PyTorch| = %.3g\n", diff);
}

TEST(UNetWeights, ResidualEncoderWriteThenReadRoundTrips) {
  const auto dir = test::scratch_dir("resroundtrip");
  torch::manual_seed(4);
  UNet net(test::residual_2d_config());
  // Fresh residual blocks start as nnU-Net's do: the norm before the addition has weight 0.
  for (const auto& [name, tensor] : net.state_dict(false)) {
    if (name.find(".conv2.norm.weight") != std::string::npos) {
      EXPECT_EQ(tensor.abs().max().item<double>(), 0.0) << name;
    }
  }
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net.parameters()) p.normal_();
  }
  write_weights(net, dir / "weights.pt", false);
  UNet copy(test::residual_2d_config());
  load_state_dict(copy, read_weights(dir / "weights.pt"), "weights.pt");
  net.train(false);
  copy.train(false);
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({1, 2, 16, 16});
  EXPECT_EQ(max_abs_diff(net.forward(x), copy.forward(x)), 0.0);
  // The residual encoder runs under bf16 autocast too.
  at::Tensor bf16;
  {
    PrecisionScope scope(Precision::BF16, c10::Device(c10::kCPU));
    ASSERT_NO_THROW(bf16 = net.forward(x));
  }
  EXPECT_EQ(bf16.sizes(), x.sizes());
}

TEST(UNetPrecision, Bf16ForwardIsCloseToFp32AndTransposedConvsDoNotThrow) {
  auto config = test::anisotropic_3d_config();
  config.features_per_stage = {8, 16, 16};  // in != out channels in the transposed convs
  torch::manual_seed(0);
  UNet net(config);
  net.train(false);
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({1, 1, 8, 16, 16});
  const at::Tensor fp32 = net.forward(x);
  at::Tensor bf16;
  {
    PrecisionScope scope(Precision::BF16, c10::Device(c10::kCPU));
    ASSERT_NO_THROW(bf16 = net.forward(x));
  }
  EXPECT_EQ(bf16.sizes(), fp32.sizes());
  const double scale = fp32.abs().max().item<double>();
  EXPECT_LT(max_abs_diff(bf16.to(at::kFloat), fp32), 0.05 * scale + 0.02);
  // Autocast is off again after the scope: fp32 results are exactly reproducible.
  EXPECT_EQ(max_abs_diff(net.forward(x), fp32), 0.0);
}

TEST(UNetPrecision, Fp16OnCpuIsRefusedAsNoDevice) {
  const Error e = capture_error([] { PrecisionScope scope(Precision::FP16, c10::Device(c10::kCPU)); });
  EXPECT_EQ(e.code(), ExitCode::NoDevice);
  EXPECT_NE(std::string(e.what()).find("fp16"), std::string::npos) << e.what();
}

TEST(UNetLoad, MissingParameterIsNamed) {
  UNet net(test::anisotropic_3d_config());
  StateDict sd = net.state_dict(true);
  sd.erase(std::remove_if(sd.begin(), sd.end(),
                          [](const auto& e) { return e.first.find("decoder.seg_layers.1.bias") != std::string::npos; }),
           sd.end());
  const Error e = capture_error([&] { load_state_dict(net, sd, "ckpt.pth"); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("'ckpt.pth': missing parameter 'decoder.seg_layers.1.bias'"), std::string::npos)
      << e.what();
}

TEST(UNetLoad, WrongShapeIsNamedWithBothShapes) {
  UNet net(test::anisotropic_3d_config());
  StateDict sd = net.state_dict(false);
  for (auto& [name, tensor] : sd)
    if (name == "encoder.stages.1.0.convs.0.conv.weight") tensor = torch::zeros({8, 4, 3, 3, 1});
  const Error e = capture_error([&] { load_state_dict(net, sd, "w.pt"); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("'encoder.stages.1.0.convs.0.conv.weight' has shape [8, 4, 3, 3, 1] but the "
                                       "architecture expects [8, 4, 3, 3, 3]"),
            std::string::npos)
      << e.what();
}

TEST(UNetLoad, UnexpectedParameterIsNamed) {
  UNet net(test::anisotropic_3d_config());
  StateDict sd = net.state_dict(false);
  sd.emplace_back("decoder.seg_layers.7.weight", torch::zeros({3, 4, 1, 1, 1}));
  const Error e = capture_error([&] { load_state_dict(net, sd, "w.pt"); });
  EXPECT_NE(std::string(e.what()).find("unexpected parameter 'decoder.seg_layers.7.weight'"), std::string::npos)
      << e.what();
}

TEST(UNetLoad, AliasesAloneAreEnoughAndValuesArrive) {
  torch::manual_seed(1);
  UNet source(test::anisotropic_3d_config());
  // Keep only the all_modules / decoder.encoder spellings of the encoder's convolutions.
  StateDict sd;
  for (const auto& [name, tensor] : source.state_dict(true)) {
    const bool canonical_encoder = name.rfind("encoder.", 0) == 0;
    const bool canonical_block = name.find(".conv.") != std::string::npos || name.find(".norm.") != std::string::npos;
    if (canonical_encoder || (canonical_block && name.rfind("decoder.stages", 0) == 0)) continue;
    sd.emplace_back(name, tensor.clone());
  }
  torch::manual_seed(2);
  UNet target(test::anisotropic_3d_config());
  ASSERT_NO_THROW(load_state_dict(target, sd, "aliases.pt"));
  const auto a = source.state_dict(false), b = target.state_dict(false);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
}

TEST(UNetWeights, WriteThenReadRoundTripsNamesValuesAndOutput) {
  const auto dir = test::scratch_dir("roundtrip");
  torch::manual_seed(3);
  UNet net(test::batchnorm_2d_config());
  write_weights(net, dir / "weights.pt", false);
  const StateDict read = read_weights(dir / "weights.pt");
  std::map<std::string, at::Tensor> by_name(read.begin(), read.end());
  const auto canonical = net.state_dict(false);
  EXPECT_EQ(by_name.size(), canonical.size());
  for (const auto& [name, tensor] : canonical) {
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_TRUE(torch::equal(by_name[name], tensor)) << name;
  }
  UNet copy(test::batchnorm_2d_config());
  load_state_dict(copy, read, "weights.pt");
  net.train(false);
  copy.train(false);
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({1, 2, 16, 16});
  EXPECT_EQ(max_abs_diff(net.forward(x), copy.forward(x)), 0.0);
  // No overwrite without permission, and the original stays.
  EXPECT_EQ(capture_error([&] { write_weights(net, dir / "weights.pt", false); }).code(), ExitCode::CannotWrite);
}

TEST(UNetWeights, EqualWeightsWriteEqualBytesWhateverTheFileName) {
  // Shipped weights are reproducible byte for byte: the archive's record names must not depend on
  // the file name, the temporary's name or the process id.
  const auto dir = test::scratch_dir("bytes");
  torch::manual_seed(4);
  UNet net(test::batchnorm_2d_config());
  write_weights(net, dir / "weights.pt", false);
  write_weights(net, dir / "other_name.pt", false);
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string a = slurp(dir / "weights.pt"), b = slurp(dir / "other_name.pt");
  ASSERT_GT(a.size(), 100u);
  EXPECT_TRUE(a == b) << "the two files differ";
  EXPECT_EQ(a.find(".partial-"), std::string::npos) << "the temporary's name is in the archive";
  const StateDict read = read_weights(dir / "other_name.pt");
  EXPECT_EQ(read.size(), net.state_dict(false).size());
}

TEST(UNetWeights, GarbageFileIsBadModelNamingTheFile) {
  const auto dir = test::scratch_dir("garbage");
  std::ofstream(dir / "w.pt") << "PK\x03\x04 this is not a zip archive";
  const Error e = capture_error([&] { read_weights(dir / "w.pt"); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("w.pt"), std::string::npos) << e.what();
  const Error missing = capture_error([&] { read_weights(dir / "none.pt"); });
  EXPECT_EQ(missing.code(), ExitCode::BadModel);
}

TEST(UNetForward, RejectsWrongChannelsAndSizesNotMultipleOfStrides) {
  UNet net(test::anisotropic_3d_config());
  torch::NoGradGuard no_grad;
  const Error channels = capture_error([&] { net.forward(torch::zeros({1, 2, 4, 8, 8})); });
  EXPECT_EQ(channels.code(), ExitCode::BadInput);
  EXPECT_NE(std::string(channels.what()).find("expects 1 input channel"), std::string::npos) << channels.what();
  // Total strides are [2, 4, 4]: 6 along y is not a multiple of 4.
  const Error size = capture_error([&] { net.forward(torch::zeros({1, 1, 4, 6, 8})); });
  EXPECT_EQ(size.code(), ExitCode::BadInput);
  EXPECT_NE(std::string(size.what()).find("multiple of the total stride [2, 4, 4]"), std::string::npos) << size.what();
}

// A single tile takes the direct oneDNN path (docs/performance.md); it must give what the same tile
// gives inside a batch (ATen's own path) and what the gradient-enabled path gives.
TEST(UNetForward, SingleTileFastPathEqualsBatchedAndGradientPaths) {
  for (const UNetConfig& config : {test::anisotropic_3d_config(), test::batchnorm_2d_config()}) {
    UNet net(config);
    net.train(false);
    const bool three_d = config.dims == 3;
    const at::Tensor tile = three_d ? torch::randn({1, config.in_channels, 4, 8, 8})
                                    : torch::randn({1, config.in_channels, 16, 16});
    const at::Tensor with_grad = net.forward(tile).detach();
    torch::NoGradGuard no_grad;
    const at::Tensor single = net.forward(tile);
    const at::Tensor batched = net.forward(torch::cat({tile, torch::randn_like(tile)}, 0)).narrow(0, 0, 1);
    EXPECT_LT(test::max_abs_diff(single, batched), 1e-4) << config.dims << "D";
    EXPECT_LT(test::max_abs_diff(single, with_grad), 1e-4) << config.dims << "D";
  }
}

TEST(UNetForward, TrainingModeGradientsReachEveryParameter) {
  UNet net(test::anisotropic_3d_config());
  net.train(true);
  const auto heads = net.forward_all(torch::randn({2, 1, 4, 8, 8}));
  at::Tensor loss = heads[0].pow(2).mean() + heads[1].pow(2).mean();
  loss.backward();
  for (const auto& [name, p] : net.state_dict(false)) {
    if (!p.requires_grad()) continue;  // batch norm buffers
    ASSERT_TRUE(p.grad().defined()) << name;
    // A conv bias right before an instance norm is cancelled by it: its gradient is ~0 by design.
    if (name.find("conv.bias") == std::string::npos) {
      EXPECT_GT(p.grad().abs().sum().item<double>(), 0.0) << name;
    }
  }
}

TEST(UNetConfigJson, RoundTripsAndNamesBadFields) {
  const auto config = test::anisotropic_3d_config();
  const Json json = unet_config_to_json(config);
  EXPECT_EQ(unet_config_to_json(parse_unet_config(json)).dump(), json.dump());
  struct Case {
    std::function<void(Json&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](Json& j) { j["kernel_sizes"].as_array()[1] = Json(Json::Array{3, 3}); }, "architecture.kernel_sizes[1]"},
      {[](Json& j) { j["kernel_sizes"].as_array()[0].as_array()[2] = 4; }, "architecture.kernel_sizes[0][2]"},
      {[](Json& j) { j["strides"].as_array().pop_back(); }, "architecture.strides"},
      {[](Json& j) { j["n_conv_per_stage_decoder"].push_back(2); }, "architecture.n_conv_per_stage_decoder"},
      {[](Json& j) { j["norm"] = "group"; }, "architecture.norm"},
      {[](Json& j) { j["in_channels"] = "one"; }, "architecture.in_channels"},
      {[](Json& j) { j["featurs_per_stage"] = 1; }, "architecture.featurs_per_stage"},
      {[](Json& j) { j["type"] = "resnet"; }, "architecture.type"},
  };
  for (const auto& c : cases) {
    Json bad = json;
    c.mutate(bad);
    try {
      parse_unet_config(bad);
      ADD_FAILURE() << "accepted a bad " << c.field;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind("field '" + c.field + "'", 0), 0u) << e.what();
    }
  }
}

TEST(UNetConfigJson, ResidualEncoderRoundTripsAndNamesBadFields) {
  const auto config = test::residual_2d_config();
  const Json json = unet_config_to_json(config);
  EXPECT_EQ(json.find("encoder")->as_string(), "residual");
  EXPECT_EQ(json.find("stem_channels")->as_int(), 3);
  EXPECT_EQ(json.find("n_conv_per_stage"), nullptr);
  const UNetConfig back = parse_unet_config(json);
  EXPECT_EQ(back.n_blocks_per_stage, config.n_blocks_per_stage);
  EXPECT_EQ(unet_config_to_json(back).dump(), json.dump());
  // A plain U-Net's JSON has none of the residual fields (bundles written before them are unchanged).
  const Json plain = unet_config_to_json(test::anisotropic_3d_config());
  for (const char* key : {"encoder", "n_blocks_per_stage", "stem_channels"}) EXPECT_EQ(plain.find(key), nullptr) << key;
  // stem_channels absent: the stem has features_per_stage[0] channels.
  const Json no_stem = without(json, "stem_channels");
  EXPECT_EQ(parse_unet_config(no_stem).stem_features(), 4);

  struct Case {
    std::function<void(Json&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](Json& j) { j["encoder"] = "resnet"; }, "architecture.encoder"},
      {[](Json& j) { j["n_conv_per_stage"] = Json::parse("[2, 2, 2, 2]"); }, "architecture.n_conv_per_stage"},
      {[](Json& j) { j = without(j, "n_blocks_per_stage"); }, "architecture.n_blocks_per_stage"},
      {[](Json& j) { j["n_blocks_per_stage"].push_back(1); }, "architecture.n_blocks_per_stage"},
      {[](Json& j) { j["n_blocks_per_stage"].as_array()[2] = 0; }, "architecture.n_blocks_per_stage[2]"},
      {[](Json& j) { j["stem_channels"] = 0; }, "architecture.stem_channels"},
  };
  for (const auto& c : cases) {
    Json bad = json;
    c.mutate(bad);
    try {
      parse_unet_config(bad);
      ADD_FAILURE() << "accepted a bad " << c.field;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind("field '" + c.field + "'", 0), 0u) << e.what();
    }
  }
  // And the plain encoder refuses the residual fields.
  for (const char* key : {"n_blocks_per_stage", "stem_channels"}) {
    Json bad = plain;
    bad[key] = key == std::string("stem_channels") ? Json(4) : Json::parse("[1, 1, 1]");
    try {
      parse_unet_config(bad);
      ADD_FAILURE() << "plain encoder accepted " << key;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind(std::string("field 'architecture.") + key + "'", 0), 0u) << e.what();
    }
  }
}

TEST(UNetConfig, InvalidConfigurationIsBadModel) {
  auto config = test::anisotropic_3d_config();
  config.strides.pop_back();
  EXPECT_EQ(capture_error([&] { UNet net(config); }).code(), ExitCode::BadModel);
  EXPECT_EQ(total_strides(test::anisotropic_3d_config()), (std::vector<int64_t>{2, 4, 4}));
}

}  // namespace
}  // namespace voxseg::models
