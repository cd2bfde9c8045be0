// nnU-Net v2 result folders run natively: the plan taken from plans.json (hand-checked numbers), output
// mapping for labels and regions, and whole-case predictions compared with PyTorch's forward of the
// same weights (tests/tools/make_nnunet_folder.py).
#include "voxseg/infer/nnunet_source.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../shared_test_support.h"
#include "voxseg/core/error.h"
#include "voxseg/infer/segmentation.h"
#include "voxseg/models/unet.h"

namespace voxseg::infer {
namespace {

namespace fs = std::filesystem;

using test_support::capture_error;

fs::path scratch(const std::string& name) { return test_support::fresh_dir(VOXSEG_INFER_TEST_TMP, name); }

// Writes a result folder with make_nnunet_folder.py; returns the trained-model folder.
fs::path make_folder(const fs::path& dir, const std::string& args) {
  const std::string cmd = "/usr/bin/python3 '" + std::string(VOXSEG_NNUNET_FIXTURE_SCRIPT) + "' '" + dir.string() +
                          "' " + args + " > '" + (dir / "folder.txt").string() + "'";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("fixture script failed: " + cmd);
  std::ifstream in(dir / "folder.txt");
  std::string folder;
  std::getline(in, folder);
  return folder;
}

std::map<std::string, at::Tensor> read_reference(const fs::path& dir) {
  std::map<std::string, at::Tensor> r;
  for (auto& [name, t] : models::read_weights(dir / "reference.pth")) r[name] = t;
  return r;
}

struct Case {
  std::string name, args;
  int folds;
  bool regions;
  std::vector<int64_t> mirror_axes;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class NnunetAgainstPyTorch : public ::testing::TestWithParam<Case> {};

// The fixture's case fills one patch at the configuration's spacing, so the whole pipeline (transpose,
// CT normalization, one tile with mirroring, fold averaging, softmax/sigmoid, argmax/regions, transpose
// back) must reproduce PyTorch's numbers.
TEST_P(NnunetAgainstPyTorch, ProbabilitiesAndLabelsMatch) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  const Case& c = GetParam();
  const fs::path dir = scratch("nnunet_" + c.name);
  const fs::path folder = make_folder(dir, c.args);
  auto ref = read_reference(dir);

  Model model = load_nnunet_model(folder.string(), {}, "cpu", models::Precision::FP32);
  EXPECT_EQ(int(model.networks.size()), c.folds);
  EXPECT_EQ(model.output.regions, c.regions);
  EXPECT_EQ(model.mirror_axes, c.mirror_axes);
  EXPECT_EQ(model.source, "nnunet:" + folder.string());
  EXPECT_EQ(model.sha256.size(), 64u);

  Geometry g;
  const at::Tensor sp = ref.at("spacing_zyx");
  g.spacing = {sp[2].item<double>(), sp[1].item<double>(), sp[0].item<double>()};
  g.origin = {3, -4, 5};
  at::Tensor image = ref.at("image");
  g.size = {image.size(3), image.size(2), image.size(1)};
  PredictOptions options;
  options.save_probabilities = true;
  const Prediction p = predict_volume(Volume{image.size(0) == 1 ? image[0] : image, g}, model, options);

  EXPECT_EQ(p.labels.geometry.spacing, g.spacing);
  EXPECT_EQ(p.labels.geometry.origin, g.origin);
  const at::Tensor probs = p.probabilities.data;
  ASSERT_EQ(probs.sizes(), ref.at("probabilities").sizes());
  EXPECT_LT((probs - ref.at("probabilities")).abs().max().item<double>(), 1e-4);
  const at::Tensor labels = p.labels.data.to(torch::kLong);
  ASSERT_EQ(labels.sizes(), ref.at("labels").sizes());
  EXPECT_EQ(labels.ne(ref.at("labels")).sum().item<int64_t>(), 0);
  // Not a constant answer, so a wrong mapping cannot pass by accident.
  EXPECT_GE(std::get<0>(torch::_unique(labels)).numel(), 2);
}

INSTANTIATE_TEST_SUITE_P(
    Configurations, NnunetAgainstPyTorch,
    ::testing::Values(Case{"fullres_two_folds_transposed", "--folds 2 --transpose 2,0,1", 2, false, {0, 1, 2}},
                      Case{"fullres_two_channels_restricted_mirroring",
                           "--channels ct,mr --mirror-axes 1,2 --seed 3", 1, false, {1, 2}},
                      Case{"fullres_regions_no_mirroring", "--regions --mirror-axes none --seed 4", 1, true, {}},
                      Case{"2d_transposed", "--dims 2 --transpose 1,2,0 --seed 11", 1, false, {0, 1}}),
    [](const auto& info) { return info.param.name; });

// plans.json -> Plan, checked against numbers worked out by hand.
models::nnunet::Plans plans_for(const std::string& norm, bool use_mask) {
  Json j = Json::parse(R"({
    "dataset_name": "D", "plans_name": "nnUNetPlans", "transpose_forward": [0, 1, 2],
    "transpose_backward": [0, 1, 2], "image_reader_writer": "SimpleITKIO", "label_manager": "LabelManager",
    "foreground_intensity_properties_per_channel": {"0": {"mean": 50.0, "std": 30.0, "median": 48.0,
      "min": -900.0, "max": 900.0, "percentile_00_5": -100.0, "percentile_99_5": 300.0}},
    "configurations": {"3d_fullres": {"patch_size": [4, 8, 8], "spacing": [2.5, 1.0, 1.0],
      "normalization_schemes": ["X"], "use_mask_for_norm": [false], "batch_size": 2,
      "resampling_fn_data": "resample_data_or_seg_to_shape",
      "resampling_fn_data_kwargs": {"is_seg": false, "order": 3, "order_z": 0, "force_separate_z": null},
      "resampling_fn_seg": "resample_data_or_seg_to_shape",
      "resampling_fn_seg_kwargs": {"is_seg": true, "order": 1, "order_z": 0, "force_separate_z": null},
      "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
      "resampling_fn_probabilities_kwargs": {"is_seg": false, "order": 1, "order_z": 0, "force_separate_z": null},
      "architecture": {"network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
        "arch_kwargs": {"n_stages": 1, "features_per_stage": [4], "conv_op": "torch.nn.modules.conv.Conv3d",
          "kernel_sizes": [[3, 3, 3]], "strides": [[1, 1, 1]], "n_conv_per_stage": [1],
          "n_conv_per_stage_decoder": [], "conv_bias": true, "norm_op": null, "norm_op_kwargs": null,
          "dropout_op": null, "dropout_op_kwargs": null, "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": null},
        "_kw_requires_import": []}}}})");
  j["configurations"]["3d_fullres"]["normalization_schemes"] = Json(Json::Array{Json(norm)});
  j["configurations"]["3d_fullres"]["use_mask_for_norm"] = Json(Json::Array{Json(use_mask)});
  return models::nnunet::parse_plans(j, "plans.json");
}

TEST(NnunetPlan, CtNormalizationUsesTheForegroundPercentilesAndStatistics) {
  const auto plans = plans_for("CTNormalization", false);
  const preprocess::Plan plan = plan_from_nnunet(plans, plans.configuration("3d_fullres"));
  ASSERT_EQ(plan.channels.size(), 1u);
  // -1024 clips to -100: (-100 - 50) / 30 = -5;  80: (80 - 50) / 30 = 1;  1000 clips to 300: 250 / 30.
  Volume v{torch::tensor({-1024.0f, 80.0f, 1000.0f, 50.0f}).view({1, 1, 4}), Geometry{}};
  v.geometry.spacing = {1.0, 1.0, 2.5};
  v.geometry.size = {4, 1, 1};
  const auto pre = preprocess::preprocess_case(v, plan);
  const at::Tensor got = pre.data.flatten();
  ASSERT_EQ(got.numel(), 4);
  EXPECT_NEAR(got[0].item<double>(), -5.0, 1e-6);
  EXPECT_NEAR(got[1].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(got[2].item<double>(), 250.0 / 30.0, 1e-5);
  EXPECT_NEAR(got[3].item<double>(), 0.0, 1e-6);
}

TEST(NnunetPlan, ZScoreInsideTheNonZeroMaskLeavesTheOutsideAtZero) {
  const auto plans = plans_for("ZScoreNormalization", true);
  const preprocess::Plan plan = plan_from_nnunet(plans, plans.configuration("3d_fullres"));
  ASSERT_TRUE(plan.channels[0].use_mask);
  // Row 0 is the zero background; the mask is the 2x3 block of values 1..6 (mean 3.5, population
  // std sqrt(35/12) = 1.7078). The crop keeps the zero column inside the box, which stays 0.
  at::Tensor x = torch::tensor({0.f, 0.f, 0.f, 0.f, 1.f, 2.f, 3.f, 0.f, 4.f, 5.f, 6.f, 0.f}).view({1, 3, 4});
  x.index_put_({0, 1, 3}, 0.0f);
  Volume v{x, Geometry{}};
  v.geometry.spacing = {1.0, 1.0, 2.5};
  v.geometry.size = {4, 3, 1};
  const auto pre = preprocess::preprocess_case(v, plan);
  // Crop: rows 1..2, columns 0..2 (the zero column 3 is outside the box).
  ASSERT_EQ(pre.data.sizes(), (at::IntArrayRef{1, 1, 2, 3}));
  const double sd = std::sqrt(35.0 / 12.0);
  EXPECT_NEAR(pre.data[0][0][0][0].item<double>(), (1 - 3.5) / sd, 1e-5);
  EXPECT_NEAR(pre.data[0][0][1][2].item<double>(), (6 - 3.5) / sd, 1e-5);
}

TEST(NnunetPlan, AnisotropicInputIsResampledNearestOutOfPlane) {
  const auto plans = plans_for("NoNormalization", false);
  const preprocess::Plan plan = plan_from_nnunet(plans, plans.configuration("3d_fullres"));
  EXPECT_EQ(plan.target_spacing, (std::vector<double>{2.5, 1.0, 1.0}));
  EXPECT_EQ(plan.image_resampling.order, 3);
  EXPECT_EQ(plan.logits_resampling.order, 1);
  // 4 slices at 5 mm (anisotropy 5 > 3: separate z, order_z 0) -> 8 slices at 2.5 mm. Output slice j
  // samples source coordinate (j + 0.5) * 4 / 8 - 0.5 = j / 2 - 0.25, rounded: 0 0 1 1 2 2 3 3.
  at::Tensor x = (torch::arange(1, 5, torch::kFloat) * 10).view({4, 1, 1}).expand({4, 6, 6}).contiguous();
  Volume v{x, Geometry{}};
  v.geometry.spacing = {1.0, 1.0, 5.0};
  v.geometry.size = {6, 6, 4};
  const auto pre = preprocess::preprocess_case(v, plan);
  ASSERT_EQ(pre.data.sizes(), (at::IntArrayRef{1, 8, 6, 6}));
  EXPECT_EQ(pre.resample_orders[0], 0);
  const std::vector<float> expected{10, 10, 20, 20, 30, 30, 40, 40};
  for (int64_t z = 0; z < 8; ++z) EXPECT_FLOAT_EQ(pre.data[0][z][3][3].item<float>(), expected[size_t(z)]) << z;
}

TEST(NnunetPlan, RejectsWhatVoxsegDoesNotImplement) {
  auto plans = plans_for("MyCustomNormalization", false);
  Error e = capture_error([&] { plan_from_nnunet(plans, plans.configuration("3d_fullres")); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("MyCustomNormalization"), std::string::npos) << e.what();

  plans = plans_for("CTNormalization", false);
  plans.foreground_intensity_properties.clear();
  e = capture_error([&] { plan_from_nnunet(plans, plans.configuration("3d_fullres")); });
  EXPECT_NE(std::string(e.what()).find("foreground_intensity_properties_per_channel"), std::string::npos) << e.what();

  plans = plans_for("CTNormalization", false);
  auto config = plans.configuration("3d_fullres");
  config.resampling_fn_data = "resample_torch_fornnunet";
  e = capture_error([&] { plan_from_nnunet(plans, config); });
  EXPECT_NE(std::string(e.what()).find("resample_torch_fornnunet"), std::string::npos) << e.what();
}

// Region mapping, worked by hand: regions (whole = {1,2} -> 1, core = {2} -> 2), later regions win.
TEST(OutputMapping, RegionsAreSigmoidAboveHalfInRegionsClassOrder) {
  const at::Tensor logits = torch::tensor({2.f, 2.f, -1.f, -1.f, 0.f,  //
                                           -1.f, 3.f, 5.f, -1.f, 0.f})
                                .view({2, 5});
  const at::Tensor labels = labels_from_logits(logits, OutputMapping{{1, 2}, true});
  // whole only -> 1; both -> 2; core only -> 2 (nnU-Net writes regions in order, core last);
  // neither -> 0; logit exactly 0 is probability 0.5, not above: 0.
  EXPECT_EQ(std::vector<int64_t>(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + 5),
            (std::vector<int64_t>{1, 2, 2, 0, 0}));
  const at::Tensor p = probabilities_from_logits(logits, OutputMapping{{1, 2}, true});
  EXPECT_NEAR(p[0][0].item<double>(), 1.0 / (1.0 + std::exp(-2.0)), 1e-6);
  EXPECT_NEAR(p[1][4].item<double>(), 0.5, 1e-7);
}

TEST(OutputMapping, LabelsAreArgmaxMappedToTheirValues) {
  const at::Tensor logits = torch::tensor({0.f, 5.f, 1.f,  //
                                           2.f, 1.f, 1.f,  //
                                           1.f, 0.f, 3.f})
                                .view({3, 3});
  const at::Tensor labels = labels_from_logits(logits, OutputMapping{{0, 1, 7}, false});
  EXPECT_EQ(std::vector<int64_t>(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + 3),
            (std::vector<int64_t>{1, 0, 7}));
  const at::Tensor p = probabilities_from_logits(logits, OutputMapping{{0, 1, 7}, false});
  EXPECT_NEAR(p.sum(0)[1].item<double>(), 1.0, 1e-6);
  const double e0 = std::exp(0.0), e2 = std::exp(2.0), e1 = std::exp(1.0);
  EXPECT_NEAR(p[1][0].item<double>(), e2 / (e0 + e2 + e1), 1e-6);
}

// Folder resolution, fold and checkpoint selection, and what is refused.
class NnunetFolder : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test_support::python_torch_available()) return;
    dir_ = new fs::path(scratch("nnunet_folder"));
    folder_ = new fs::path(make_folder(*dir_, "--folds 2"));
  }
  static void TearDownTestSuite() {
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
    delete folder_;
    dir_ = folder_ = nullptr;
  }
  void SetUp() override { VOXSEG_REQUIRE_PYTHON_TORCH(); }
  static Model load(const std::string& dir, NnunetSelection s = {}) {
    return load_nnunet_model(dir, s, "cpu", models::Precision::FP32);
  }
  static fs::path* dir_;
  static fs::path* folder_;
};
fs::path* NnunetFolder::dir_ = nullptr;
fs::path* NnunetFolder::folder_ = nullptr;

TEST_F(NnunetFolder, DatasetFolderResolvesToItsConfiguration) {
  const fs::path dataset = folder_->parent_path();
  EXPECT_EQ(resolve_nnunet_folder(dataset.string(), ""), folder_->string());
  EXPECT_EQ(resolve_nnunet_folder(dataset.string(), "3d_fullres"), folder_->string());
  const Error e = capture_error([&] { resolve_nnunet_folder(dataset.string(), "2d"); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("nnUNetTrainer__nnUNetPlans__3d_fullres"), std::string::npos) << e.what();
  EXPECT_EQ(load(dataset.string()).networks.size(), 2u);
}

TEST_F(NnunetFolder, FoldsAndCheckpointsAreChosenOrNamed) {
  NnunetSelection one;
  one.folds = {"1"};
  const Model m1 = load(folder_->string(), one);
  EXPECT_EQ(m1.networks.size(), 1u);
  EXPECT_NE(m1.id.find("fold 1"), std::string::npos) << m1.id;

  NnunetSelection missing;
  missing.folds = {"0", "3"};
  Error e = capture_error([&] { load(folder_->string(), missing); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("fold_3"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("fold_0, fold_1"), std::string::npos) << e.what();

  NnunetSelection best;
  best.checkpoint = "checkpoint_best.pth";
  e = capture_error([&] { load(folder_->string(), best); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("checkpoint_best.pth"), std::string::npos) << e.what();

  NnunetSelection other;
  other.configuration = "2d";
  e = capture_error([&] { load(folder_->string(), other); });
  EXPECT_EQ(e.code(), ExitCode::Usage);
  EXPECT_NE(std::string(e.what()).find("3d_fullres"), std::string::npos) << e.what();

  e = capture_error([] { models::resolve_device("cuda:0"); });
  EXPECT_EQ(e.code(), ExitCode::NoDevice);
  e = capture_error([&] { load_nnunet_model(folder_->string(), {}, "cuda", models::Precision::FP32); });
  EXPECT_EQ(e.code(), ExitCode::NoDevice);
}

TEST_F(NnunetFolder, CascadeStagesAndForeignWeightsAreRefused) {
  const fs::path copy = *dir_ / "cascade" / "nnUNetTrainer__nnUNetPlans__3d_cascade_fullres";
  fs::create_directories(copy / "fold_0");
  fs::copy_file(*folder_ / "dataset.json", copy / "dataset.json");
  fs::copy_file(*folder_ / "fold_0" / "checkpoint_final.pth", copy / "fold_0" / "checkpoint_final.pth");
  Json plans = read_json_file((*folder_ / "plans.json").string(), ExitCode::BadModel);
  const Json fullres = plans["configurations"]["3d_fullres"];  // a copy: inserting may move entries
  plans["configurations"]["3d_lowres"] = fullres;
  plans["configurations"]["3d_cascade_fullres"]["inherits_from"] = "3d_fullres";
  plans["configurations"]["3d_cascade_fullres"]["previous_stage"] = "3d_lowres";
  std::ofstream(copy / "plans.json") << plans.dump(2);
  NnunetSelection s;
  s.configuration = "3d_cascade_fullres";
  Error e = capture_error([&] { load(copy.string(), s); });  // the checkpoint says 3d_fullres
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("trained as 3d_fullres, not 3d_cascade_fullres"), std::string::npos)
      << e.what();

  // A folder name without configuration and a checkpoint of the right stage: the cascade is named.
  const fs::path plain = *dir_ / "cascade_plain";
  fs::create_directories(plain / "fold_0");
  fs::copy_file(copy / "plans.json", plain / "plans.json");
  fs::copy_file(copy / "dataset.json", plain / "dataset.json");
  const std::string rewrite = "/usr/bin/python3 -c \"import torch,sys; c=torch.load(sys.argv[1]); "
                              "c['init_args']['configuration']='3d_cascade_fullres'; torch.save(c, sys.argv[2])\" '" +
                              (copy / "fold_0" / "checkpoint_final.pth").string() + "' '" +
                              (plain / "fold_0" / "checkpoint_final.pth").string() + "'";
  ASSERT_EQ(std::system(rewrite.c_str()), 0);
  e = capture_error([&] { load(plain.string()); });
  EXPECT_EQ(e.code(), ExitCode::BadModel);
  EXPECT_NE(std::string(e.what()).find("cascade"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("3d_lowres"), std::string::npos) << e.what();
}

}  // namespace
}  // namespace voxseg::infer
