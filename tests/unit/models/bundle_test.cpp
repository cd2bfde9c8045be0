#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "test_support.h"
#include "voxseg/core/sha256.h"
#include "voxseg/models/bundle.h"
#include "voxseg/models/unet.h"

namespace voxseg::models {
namespace {

namespace fs = std::filesystem;
using test::capture_error;
using test::max_abs_diff;
using test::torchscript_json;
using test::write_json;

ModelBundle liver_spec(const UNetConfig& config) {
  ModelBundle b;
  b.name = "test-liver";
  b.description = "tiny test model";
  b.dims = config.dims;
  b.architecture.type = "unet";
  b.architecture.unet = config;
  ChannelSpec ct;
  ct.name = "CT";
  ct.normalization.scheme = voxseg::preprocess::Normalization::CT;
  ct.normalization.mean = 80.5;
  ct.normalization.std = 40.25;
  ct.normalization.lower = -100;
  ct.normalization.upper = 240;
  b.channels = {ct};
  LabelSpec background{0, "background", std::nullopt, std::nullopt};
  LabelSpec liver{1, "liver", std::array<int, 3>{221, 130, 101}, CodedConcept{"10200004", "SCT", "Liver"}};
  LabelSpec tumor{2, "tumor", std::nullopt, std::nullopt};
  b.labels = {background, liver, tumor};
  b.target_spacing = {3.0, 0.8, 0.8};
  b.patch_size = {8, 16, 16};
  b.mirror_axes = {1, 2};
  b.crop_to_nonzero = true;
  b.training = Json::object();
  b.training["epochs"] = 3;
  return b;
}

// A saved, valid 3D bundle in a fresh folder.
struct SavedBundle {
  fs::path dir;
  ModelBundle bundle;
  std::shared_ptr<UNet> net;
};

SavedBundle save_liver_bundle(const std::string& name) {
  SavedBundle s;
  s.dir = test::scratch_dir(name) / "bundle";
  torch::manual_seed(7);
  s.net = std::make_shared<UNet>(test::anisotropic_3d_config());
  s.bundle = save_bundle(s.dir, liver_spec(test::anisotropic_3d_config()), *s.net);
  return s;
}

TEST(Bundle, SaveThenLoadKeepsEveryFieldAndIdentifiesWeights) {
  const auto saved = save_liver_bundle("roundtrip");
  ASSERT_TRUE(fs::exists(saved.dir / "model.json"));
  ASSERT_TRUE(fs::exists(saved.dir / "weights.pt"));
  const ModelBundle b = load_bundle(saved.dir, "cpu");
  EXPECT_EQ(b.name, "test-liver");
  EXPECT_EQ(b.dims, 3);
  EXPECT_EQ(unet_config_to_json(b.architecture.unet).dump(), unet_config_to_json(test::anisotropic_3d_config()).dump());
  ASSERT_EQ(b.channels.size(), 1u);
  EXPECT_EQ(b.channels[0].normalization.scheme, voxseg::preprocess::Normalization::CT);
  EXPECT_DOUBLE_EQ(b.channels[0].normalization.std, 40.25);
  ASSERT_EQ(b.labels.size(), 3u);
  EXPECT_EQ(b.labels[1].snomed->code, "10200004");
  EXPECT_EQ((*b.labels[1].color)[0], 221);
  EXPECT_EQ(b.target_spacing, (std::vector<double>{3.0, 0.8, 0.8}));
  EXPECT_EQ(b.patch_size, (std::vector<int64_t>{8, 16, 16}));
  EXPECT_EQ(b.mirror_axes, (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(b.crop_to_nonzero);
  EXPECT_EQ(b.training.find("epochs")->as_int(), 3);
  EXPECT_EQ(b.weights_sha256, sha256_file(saved.dir / "weights.pt"));
  EXPECT_EQ(b.id(), "test-liver@" + b.weights_sha256.substr(0, 12));
  EXPECT_EQ(saved.bundle.weights_sha256, b.weights_sha256);
  EXPECT_TRUE(b.device.is_cpu());
  // model.json is written last and complete: saving again without overwrite refuses.
  EXPECT_EQ(capture_error([&] { save_bundle(saved.dir, liver_spec(test::anisotropic_3d_config()), *saved.net); }).code(),
            ExitCode::CannotWrite);
}

TEST(Bundle, NativeNetworkFromBundleComputesTheSavedNetwork) {
  const auto saved = save_liver_bundle("native");
  const auto network = make_network(load_bundle(saved.dir, "cpu"));
  EXPECT_EQ(network->in_channels(), 1);
  EXPECT_EQ(network->num_classes(), 3);
  EXPECT_EQ(network->spatial_dims(), 3);
  EXPECT_EQ(network->device(), "cpu");
  const at::Tensor x = torch::randn({2, 1, 8, 16, 16});
  saved.net->train(false);
  torch::NoGradGuard no_grad;
  const at::Tensor expected = saved.net->forward(x);
  const at::Tensor got = network->forward(x);
  EXPECT_EQ(got.scalar_type(), at::kFloat);
  // The network runs on the oneDNN engine, the module on ATen: equal up to float rounding.
  EXPECT_EQ(network->forward_path(), "onednn");
  EXPECT_LT(max_abs_diff(got, expected), 1e-5 * expected.abs().max().item<double>());
  // bf16 runs (transposed convs inside stay fp32), returns float32 logits close to fp32.
  const auto bf16 = make_network(load_bundle(saved.dir, "cpu", Precision::BF16));
  at::Tensor low;
  ASSERT_NO_THROW(low = bf16->forward(x));
  EXPECT_EQ(low.scalar_type(), at::kFloat);
  EXPECT_LT(max_abs_diff(low, expected), 0.05 * expected.abs().max().item<double>() + 0.02);
}

TEST(Bundle, TwoDimensionalBundleRoundTripsSliceAxisAndChannels) {
  const auto dir = test::scratch_dir("bundle2d") / "b";
  const auto config = test::batchnorm_2d_config();
  torch::manual_seed(9);
  UNet net(config);
  ModelBundle spec;
  spec.name = "cells-2d";
  spec.dims = 2;
  spec.architecture.unet = config;
  ChannelSpec a, b;
  a.name = "DAPI";
  a.normalization.use_mask = true;
  b.name = "GFP";
  b.normalization.scheme = voxseg::preprocess::Normalization::RescaleTo01;
  spec.channels = {a, b};
  spec.labels = {{0, "background", std::nullopt, std::nullopt}, {1, "nucleus", std::nullopt, std::nullopt}};
  spec.target_spacing = {0.5, 0.5};
  spec.patch_size = {32, 16};  // total strides are [8, 4]
  spec.mirror_axes = {0, 1};
  spec.slice_axis = 2;
  save_bundle(dir, spec, net);
  const ModelBundle loaded = load_bundle(dir, "cpu");
  EXPECT_EQ(loaded.dims, 2);
  EXPECT_EQ(loaded.slice_axis, 2);
  EXPECT_TRUE(loaded.channels[0].normalization.use_mask);
  EXPECT_EQ(loaded.channels[1].normalization.scheme, voxseg::preprocess::Normalization::RescaleTo01);
  EXPECT_EQ(loaded.target_spacing, (std::vector<double>{0.5, 0.5}));
  const auto network = make_network(loaded);
  EXPECT_EQ(network->spatial_dims(), 2);
  const at::Tensor x = torch::randn({2, 2, 32, 16});
  net.train(false);
  torch::NoGradGuard no_grad;
  const at::Tensor expected = net.forward(x);
  EXPECT_LT(max_abs_diff(network->forward(x), expected), 1e-5 * expected.abs().max().item<double>());  // oneDNN engine
}

TEST(Bundle, MissingFolderOrModelJsonIsBadModel) {
  const auto dir = test::scratch_dir("missing");
  const Error none = capture_error([&] { load_bundle(dir / "nope"); });
  EXPECT_EQ(none.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(none.what()).find("does not exist"), std::string::npos) << none.what();
  const Error empty = capture_error([&] { load_bundle(dir); });
  EXPECT_EQ(empty.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(empty.what()).find("has no model.json"), std::string::npos) << empty.what();
  std::ofstream(dir / "model.json") << "{\"schema_version\": 1,";
  const Error truncated = capture_error([&] { load_bundle(dir); });
  EXPECT_EQ(truncated.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(truncated.what()).find("model.json"), std::string::npos) << truncated.what();
}

// Each malformed field of model.json: exit 4 and a one-line message naming the file and the field.
TEST(Bundle, EachMalformedFieldIsReportedByName) {
  const auto saved = save_liver_bundle("malformed");
  const fs::path json_path = saved.dir / "model.json";
  const Json good = read_json_file(json_path.string(), ExitCode::BadModel);
  struct Case {
    std::string field;
    std::function<void(Json&)> mutate;
  };
  const auto arr = [](std::initializer_list<Json> items) { return Json(Json::Array(items)); };
  const std::vector<Case> cases = {
      {"schema_version", [](Json& j) { j["schema_version"] = 2; }},
      {"name", [](Json& j) { j["name"] = Json(); }},
      {"name", [](Json& j) { j["name"] = 5; }},
      {"dims", [](Json& j) { j["dims"] = 4; }},
      {"architecture.dims", [](Json& j) { j["dims"] = 2; }},
      {"architecture.type", [](Json& j) { j["architecture"]["type"] = "resnet"; }},
      {"architecture.kernel_sizes[1]", [&](Json& j) { j["architecture"]["kernel_sizes"].as_array()[1] = arr({3, 3}); }},
      {"architecture.strides", [](Json& j) { j["architecture"]["strides"].as_array().pop_back(); }},
      {"architecture.norm", [](Json& j) { j["architecture"]["norm"] = "group"; }},
      {"architecture.featurs", [](Json& j) { j["architecture"]["featurs"] = 3; }},
      {"patchsize", [](Json& j) { j["patchsize"] = 3; }},
      {"weights", [](Json& j) { j["weights"] = "absent.pt"; }},
      {"weights", [](Json& j) { j["weights"] = "../weights.pt"; }},
      {"channels", [&](Json& j) { j["channels"].push_back(j["channels"].as_array()[0]); }},
      {"channels", [&](Json& j) { j["channels"] = Json::array(); }},
      {"channels[0].normalization.scheme", [](Json& j) { j["channels"].as_array()[0]["normalization"]["scheme"] = "foo"; }},
      {"channels[0].normalization", [](Json& j) {
         Json& c = j["channels"].as_array()[0];
         Json copy = Json::object();
         copy["name"] = c["name"];
         c = copy;
       }},
      {"channels[0].normalization.clip_low", [](Json& j) {
         Json& n = j["channels"].as_array()[0]["normalization"];
         Json copy = Json::object();
         for (const auto& [k, v] : n.as_object())
           if (k != "clip_low") copy[k] = v;
         n = copy;
       }},
      {"channels[0].normalization.std", [](Json& j) { j["channels"].as_array()[0]["normalization"]["std"] = 0; }},
      {"labels[1].id", [](Json& j) { j["labels"].as_array()[1]["id"] = 0; }},
      {"labels[2].id", [](Json& j) { j["labels"].as_array()[2]["id"] = 5; }},
      {"labels[1].id", [](Json& j) { j["labels"].as_array()[1]["id"] = "one"; }},
      {"labels[2].name", [](Json& j) { j["labels"].as_array()[2]["name"] = "liver"; }},
      {"labels[1].color[0]", [&](Json& j) { j["labels"].as_array()[1]["color"] = arr({300, 0, 0}); }},
      {"labels[1].color", [&](Json& j) { j["labels"].as_array()[1]["color"] = arr({1, 2}); }},
      {"labels[1].snomed.code", [](Json& j) { j["labels"].as_array()[1]["snomed"]["code"] = 10200004; }},
      {"labels", [](Json& j) { j["labels"].as_array().pop_back(); }},
      {"patch_size", [&](Json& j) { j["patch_size"] = arr({8, 16}); }},
      {"patch_size[1]", [&](Json& j) { j["patch_size"] = arr({8, 18, 16}); }},
      {"patch_size", [](Json& j) { j["patch_size"] = Json(); }},
      {"target_spacing[2]", [&](Json& j) { j["target_spacing"] = arr({1.0, 1.0, -1.0}); }},
      {"mirror_axes[0]", [&](Json& j) { j["mirror_axes"] = arr({3}); }},
      {"mirror_axes[1]", [&](Json& j) { j["mirror_axes"] = arr({1, 1}); }},
      {"crop_to_nonzero", [](Json& j) { j["crop_to_nonzero"] = "yes"; }},
      {"slice_axis", [](Json& j) { j["slice_axis"] = 1; }},
      {"training", [](Json& j) { j["training"] = 3; }},
  };
  for (const auto& c : cases) {
    Json bad = good;
    c.mutate(bad);
    write_json(json_path, bad);
    const Error e = capture_error([&] { load_bundle(saved.dir, "cpu"); });
    const std::string msg = e.what();
    EXPECT_EQ(e.code(), ExitCode::BadModel) << c.field << ": " << msg;
    EXPECT_NE(msg.find(json_path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("field '" + c.field + "'"), std::string::npos) << "expected field " << c.field << ": " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  write_json(json_path, good);
  EXPECT_NO_THROW(load_bundle(saved.dir, "cpu"));
}

TEST(Bundle, NoncontiguousIdsOnlyWhenAllowed) {
  const auto saved = save_liver_bundle("noncontiguous");
  const fs::path json_path = saved.dir / "model.json";
  Json j = read_json_file(json_path.string(), ExitCode::BadModel);
  j["labels"].as_array()[2]["id"] = 6;
  write_json(json_path, j);
  EXPECT_EQ(capture_error([&] { load_bundle(saved.dir, "cpu"); }).code(), ExitCode::BadModel);
  j["allow_noncontiguous_ids"] = true;
  write_json(json_path, j);
  const ModelBundle b = load_bundle(saved.dir, "cpu");
  EXPECT_EQ(b.label_value(2), 6);
  EXPECT_EQ(b.label_value(1), 1);
}

TEST(Bundle, WeightsOfAnotherArchitectureAreBadModelNamingTheParameter) {
  const auto saved = save_liver_bundle("mismatch");
  auto other = test::anisotropic_3d_config();
  other.features_per_stage = {4, 8, 32};
  write_weights(UNet(other), saved.dir / "weights.pt", true);
  const auto bundle = load_bundle(saved.dir, "cpu");
  const Error e = capture_error([&] { make_network(bundle); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("weights.pt"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("encoder.stages.2.0.convs.0.conv.weight"), std::string::npos) << e.what();
  std::ofstream(saved.dir / "weights.pt", std::ios::trunc) << "not weights";
  EXPECT_EQ(capture_error([&] { make_network(load_bundle(saved.dir, "cpu")); }).code(), ExitCode::BadModel);
}

TEST(Bundle, CudaAndFp16OnThisMachineAreNoDevice) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present; this test covers CPU-only machines";
  const auto saved = save_liver_bundle("device");
  const Error cuda = capture_error([&] { load_bundle(saved.dir, "cuda:0"); });
  EXPECT_EQ(cuda.code(), ExitCode::NoDevice);
  EXPECT_NE(std::string(cuda.what()).find("CUDA"), std::string::npos) << cuda.what();
  EXPECT_EQ(capture_error([&] { load_bundle(saved.dir, "cpu", Precision::FP16); }).code(), ExitCode::NoDevice);
  const auto bundle = load_bundle(saved.dir, "cpu");
  EXPECT_EQ(capture_error([&] { make_network(bundle, c10::Device(c10::kCUDA, 0), Precision::FP32); }).code(),
            ExitCode::NoDevice);
  EXPECT_TRUE(load_bundle(saved.dir, "auto").device.is_cpu());
}

TEST(Bundle, FactoryNamesABackendThatWasNotBuilt) {
  const auto saved = save_liver_bundle("backend");
  ModelBundle bundle = load_bundle(saved.dir, "cpu");
  bundle.architecture.type = "onnx";
  const Error e = capture_error([&] { make_network(bundle); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("backend 'onnx' is not built"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("unet, torchscript"), std::string::npos) << e.what();
}

TEST(TorchScriptBackend, TracedPlainConvUNetMatchesPyTorch) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto dir = test::scratch_dir("torchscript");
  const auto ref = test::make_reference(test::anisotropic_3d_config(), dir, 11, {2, 1, 4, 16, 24}, true);
  write_json(dir / "model.json", torchscript_json(3));
  const ModelBundle bundle = load_bundle(dir, "cpu");
  EXPECT_EQ(bundle.weights_sha256, sha256_file(dir / "model.pt"));
  const auto network = make_network(bundle);
  EXPECT_EQ(network->num_classes(), 3);
  EXPECT_EQ(network->in_channels(), 1);
  const at::Tensor out = network->forward(ref.io.at("input"));
  EXPECT_LT(max_abs_diff(out, ref.io.at("output")), 1e-4);
  // Tiles with the wrong channel count are refused before reaching the module.
  EXPECT_EQ(capture_error([&] { network->forward(torch::zeros({1, 2, 4, 16, 24})); }).code(), ExitCode::BadInput);
}

TEST(TorchScriptBackend, LabelCountDisagreeingWithOutputIsBadModel) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto dir = test::scratch_dir("torchscript-labels");
  const auto ref = test::make_reference(test::anisotropic_3d_config(), dir, 12, {1, 1, 4, 16, 24}, true);
  write_json(dir / "model.json", torchscript_json(4));
  const auto network = make_network(load_bundle(dir, "cpu"));
  const Error e = capture_error([&] { network->forward(ref.io.at("input")); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("4 labels"), std::string::npos) << e.what();
}

// LibTorch 1.13 on the CPU cannot run a bf16 ConvTranspose3d and TorchScript modules fail under
// autocast, so a scripted U-Net in bf16 is refused with a message pointing at fp32, never a crash.
TEST(TorchScriptBackend, Bf16OnCpuUNetFailsClearlyPointingAtFp32) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const auto dir = test::scratch_dir("torchscript-bf16");
  const auto ref = test::make_reference(test::anisotropic_3d_config(), dir, 13, {1, 1, 4, 16, 24}, true);
  write_json(dir / "model.json", torchscript_json(3));
  const auto network = make_network(load_bundle(dir, "cpu", Precision::BF16));
  at::Tensor out;
  try {
    out = network->forward(ref.io.at("input"));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::Usage);
    EXPECT_NE(std::string(e.what()).find("--precision fp32"), std::string::npos) << e.what();
    return;
  }
  // If this LibTorch can run it, the result must be close to fp32.
  EXPECT_LT(max_abs_diff(out, ref.io.at("output")), 0.05 * ref.io.at("output").abs().max().item<double>() + 0.02);
}

TEST(TorchScriptBackend, GarbageModuleIsBadModel) {
  const auto dir = test::scratch_dir("torchscript-garbage");
  std::ofstream(dir / "model.pt") << "definitely not a zip";
  write_json(dir / "model.json", torchscript_json(2));
  const Error e = capture_error([&] { make_network(load_bundle(dir, "cpu")); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("model.pt"), std::string::npos) << e.what();
}

}  // namespace
}  // namespace voxseg::models
