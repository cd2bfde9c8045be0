#include "voxseg/models/nnunet_plans.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "test_support.h"
#include "voxseg/core/error.h"
#include "voxseg/models/unet.h"

namespace voxseg::models::nnunet {
namespace {

namespace fs = std::filesystem;

// The structure of an nnU-Net v2 plans.json as nnUNetv2_plan_and_preprocess writes it for a
// two-channel CT/MR dataset: 2d, 3d_lowres -> 3d_cascade_fullres (inherits 3d_fullres), 3d_fullres,
// and a user configuration inheriting from 3d_fullres. Axes transposed (transpose_forward 2,0,1).
// cls "ResidualEncoderUNet" writes the architecture as the ResEnc planner (nnUNetPlannerResEncM)
// does: n_blocks_per_stage 1, 3, 4, 6, 6, 6, ... and one conv per decoder stage.
Json make_plans(const std::string& cls = "PlainConvUNet") {
  auto arch = [&cls](int dims, int stages) {
    Json kwargs = Json::object();
    kwargs["n_stages"] = stages;
    Json features = Json::array(), kernels = Json::array(), strides = Json::array(), convs = Json::array(),
         dec = Json::array();
    for (int s = 0; s < stages; ++s) {
      features.push_back(std::min(32 << s, dims == 2 ? 512 : 320));
      Json k = Json::array(), st = Json::array();
      for (int a = 0; a < dims; ++a) {
        k.push_back(dims == 3 && a == 0 && s == 0 ? 1 : 3);  // anisotropic first stage
        st.push_back(s == 0 || (dims == 3 && a == 0 && s == 1) ? 1 : 2);
      }
      kernels.push_back(k);
      strides.push_back(st);
      const bool resenc = cls == "ResidualEncoderUNet";
      const int resenc_blocks[] = {1, 3, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6};  // the planner's table
      convs.push_back(resenc ? resenc_blocks[s] : 2);
      if (s + 1 < stages) dec.push_back(resenc ? 1 : 2);
    }
    kwargs["features_per_stage"] = features;
    kwargs["conv_op"] = dims == 2 ? "torch.nn.modules.conv.Conv2d" : "torch.nn.modules.conv.Conv3d";
    kwargs["kernel_sizes"] = kernels;
    kwargs["strides"] = strides;
    kwargs[cls == "PlainConvUNet" ? "n_conv_per_stage" : "n_blocks_per_stage"] = convs;
    kwargs["n_conv_per_stage_decoder"] = dec;
    kwargs["conv_bias"] = true;
    kwargs["norm_op"] = dims == 2 ? "torch.nn.modules.instancenorm.InstanceNorm2d"
                                  : "torch.nn.modules.instancenorm.InstanceNorm3d";
    kwargs["norm_op_kwargs"]["eps"] = 1e-05;
    kwargs["norm_op_kwargs"]["affine"] = true;
    kwargs["dropout_op"] = nullptr;
    kwargs["dropout_op_kwargs"] = nullptr;
    kwargs["nonlin"] = "torch.nn.LeakyReLU";
    kwargs["nonlin_kwargs"]["inplace"] = true;
    Json a = Json::object();
    a["network_class_name"] = "dynamic_network_architectures.architectures.unet." + cls;
    a["arch_kwargs"] = kwargs;
    Json imports = Json::array();
    for (const char* k : {"conv_op", "norm_op", "dropout_op", "nonlin"}) imports.push_back(k);
    a["_kw_requires_import"] = imports;
    return a;
  };
  auto resampling = [](bool is_seg, int order) {
    Json r = Json::object();
    r["is_seg"] = is_seg;
    r["order"] = order;
    r["order_z"] = 0;
    r["force_separate_z"] = nullptr;
    return r;
  };
  auto config = [&](std::vector<int64_t> patch, std::vector<double> spacing, int stages) {
    Json c = Json::object();
    c["data_identifier"] = "nnUNetPlans_x";
    c["preprocessor_name"] = "DefaultPreprocessor";
    c["batch_size"] = patch.size() == 2 ? 12 : 2;
    Json p = Json::array(), s = Json::array();
    for (auto v : patch) p.push_back(v);
    for (auto v : spacing) s.push_back(v);
    c["patch_size"] = p;
    c["median_image_size_in_voxels"] = p;
    c["spacing"] = s;
    Json norms = Json::array(), masks = Json::array();
    norms.push_back("CTNormalization");
    norms.push_back("ZScoreNormalization");
    masks.push_back(false);
    masks.push_back(true);
    c["normalization_schemes"] = norms;
    c["use_mask_for_norm"] = masks;
    c["resampling_fn_data"] = "resample_data_or_seg_to_shape";
    c["resampling_fn_seg"] = "resample_data_or_seg_to_shape";
    c["resampling_fn_data_kwargs"] = resampling(false, 3);
    c["resampling_fn_seg_kwargs"] = resampling(true, 1);
    c["resampling_fn_probabilities"] = "resample_data_or_seg_to_shape";
    c["resampling_fn_probabilities_kwargs"] = resampling(false, 1);
    c["architecture"] = arch(int(patch.size()), stages);
    c["batch_dice"] = patch.size() == 3;
    return c;
  };
  Json plans = Json::object();
  plans["dataset_name"] = "Dataset042_Liver";
  plans["plans_name"] = cls == "PlainConvUNet" ? "nnUNetPlans" : "nnUNetResEncUNetMPlans";
  plans["original_median_spacing_after_transp"] = Json::array();
  plans["image_reader_writer"] = "SimpleITKIO";
  Json fwd = Json::array(), bwd = Json::array();
  for (int v : {2, 0, 1}) fwd.push_back(v);
  for (int v : {1, 2, 0}) bwd.push_back(v);
  plans["transpose_forward"] = fwd;
  plans["transpose_backward"] = bwd;
  Json& configs = plans["configurations"];
  configs["2d"] = config({320, 256}, {0.78, 0.78}, 7);
  configs["3d_lowres"] = config({64, 160, 160}, {5.0, 1.6, 1.6}, 6);
  configs["3d_lowres"]["next_stage"] = "3d_cascade_fullres";
  configs["3d_fullres"] = config({48, 192, 160}, {2.5, 0.78, 0.78}, 6);
  configs["3d_cascade_fullres"]["inherits_from"] = "3d_fullres";
  configs["3d_cascade_fullres"]["previous_stage"] = "3d_lowres";
  configs["3d_fullres_bs8"]["inherits_from"] = "3d_fullres";
  configs["3d_fullres_bs8"]["batch_size"] = 8;
  plans["experiment_planner_used"] = "ExperimentPlanner";
  plans["label_manager"] = "LabelManager";
  for (const char* ch : {"0", "1"}) {
    Json& p = plans["foreground_intensity_properties_per_channel"][ch];
    p["max"] = 3071.0;
    p["mean"] = ch[0] == '0' ? 99.5 : 0.0;
    p["median"] = 101.0;
    p["min"] = -1024.0;
    p["percentile_00_5"] = -17.0;
    p["percentile_99_5"] = 201.0;
    p["std"] = 37.25;
  }
  return plans;
}

Json make_dataset() {
  Json d = Json::object();
  d["channel_names"]["0"] = "CT";
  d["channel_names"]["1"] = "T2";
  d["labels"]["background"] = 0;
  d["labels"]["liver"] = 1;
  d["labels"]["tumor"] = 2;
  d["numTraining"] = 131;
  d["file_ending"] = ".nii.gz";
  return d;
}

Json make_region_dataset() {
  Json d = make_dataset();
  Json& labels = (d["labels"] = Json::object());
  labels["background"] = 0;
  Json whole = Json::array(), core = Json::array();
  for (int v : {1, 2, 3}) whole.push_back(v);
  for (int v : {2, 3}) core.push_back(v);
  labels["whole_tumor"] = whole;
  labels["tumor_core"] = core;
  labels["enhancing_tumor"] = 3;
  labels["ignore"] = 4;
  Json order = Json::array();
  for (int v : {1, 2, 3}) order.push_back(v);
  d["regions_class_order"] = order;
  return d;
}

std::string bad_model_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::BadModel) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no Error(BadModel)";
  return "";
}

TEST(NnunetPlans, ParsesTopLevelFields) {
  const Plans p = parse_plans(make_plans(), "plans.json");
  EXPECT_EQ(p.dataset_name, "Dataset042_Liver");
  EXPECT_EQ(p.transpose_forward, (std::vector<int64_t>{2, 0, 1}));
  EXPECT_EQ(p.transpose_backward, (std::vector<int64_t>{1, 2, 0}));
  EXPECT_EQ(p.configuration_names,
            (std::vector<std::string>{"2d", "3d_lowres", "3d_fullres", "3d_cascade_fullres", "3d_fullres_bs8"}));
  ASSERT_EQ(p.foreground_intensity_properties.size(), 2u);
  EXPECT_EQ(p.foreground_intensity_properties.at(0).mean, 99.5);
  EXPECT_EQ(p.foreground_intensity_properties.at(1).percentile_99_5, 201.0);
  EXPECT_EQ(p.foreground_intensity_properties.at(0).std, 37.25);
}

TEST(NnunetPlans, ResolvesInheritanceChildOverridingParent) {
  const Plans p = parse_plans(make_plans(), "plans.json");
  const Configuration full = p.configuration("3d_fullres");
  const Configuration bs8 = p.configuration("3d_fullres_bs8");
  EXPECT_EQ(bs8.batch_size, 8);
  EXPECT_EQ(full.batch_size, 2);
  EXPECT_EQ(bs8.patch_size, full.patch_size);
  EXPECT_EQ(bs8.spacing, (std::vector<double>{2.5, 0.78, 0.78}));
  const Configuration cascade = p.configuration("3d_cascade_fullres");
  EXPECT_EQ(cascade.previous_stage.value_or(""), "3d_lowres");
  EXPECT_EQ(cascade.patch_size, (std::vector<int64_t>{48, 192, 160}));
  EXPECT_EQ(p.configuration("3d_lowres").next_stages, (std::vector<std::string>{"3d_cascade_fullres"}));
  EXPECT_EQ(full.normalization_schemes, (std::vector<std::string>{"CTNormalization", "ZScoreNormalization"}));
  EXPECT_EQ(full.use_mask_for_norm, (std::vector<bool>{false, true}));
  EXPECT_EQ(full.resampling_data.order, 3);
  EXPECT_TRUE(full.resampling_seg.is_seg);
  EXPECT_EQ(full.resampling_probabilities.order, 1);
  EXPECT_FALSE(full.resampling_data.force_separate_z.has_value());
  EXPECT_EQ(full.network_short_name(), "PlainConvUNet");
  EXPECT_EQ(p.configuration("2d").dims, 2);
  EXPECT_NE(bad_model_message([&] { p.configuration("3d_nope"); }).find("available: 2d, 3d_lowres"),
            std::string::npos);
}

TEST(NnunetPlans, RejectsInheritanceCyclesAndBadFields) {
  Json plans = make_plans();
  plans["configurations"]["a"]["inherits_from"] = "b";
  plans["configurations"]["b"]["inherits_from"] = "a";
  EXPECT_NE(bad_model_message([&] { parse_plans(plans, "p.json"); }).find("cycle"), std::string::npos);

  plans = make_plans();
  plans["configurations"]["x"]["inherits_from"] = "missing";
  EXPECT_NE(bad_model_message([&] { parse_plans(plans, "p.json"); }).find("unknown configuration 'missing'"),
            std::string::npos);

  plans = make_plans();
  plans["transpose_backward"] = plans["transpose_forward"];
  EXPECT_NE(bad_model_message([&] { parse_plans(plans, "p.json"); }).find("not the inverse"), std::string::npos);

  plans = make_plans();
  plans["configurations"]["3d_fullres"]["patch_size"] = "big";
  const std::string m = bad_model_message([&] { parse_plans(plans, "p.json"); });
  EXPECT_NE(m.find("'p.json'"), std::string::npos) << m;
  EXPECT_NE(m.find("configurations.3d_fullres.patch_size"), std::string::npos) << m;
}

TEST(NnunetPlans, MapsPlainConvUNetToTheNativeUNet) {
  const Plans p = parse_plans(make_plans(), "plans.json");
  const DatasetInfo d = parse_dataset_json(make_dataset(), "dataset.json");
  const UNetConfig u = to_unet_config(p.configuration("3d_fullres"), d);
  EXPECT_EQ(u.dims, 3);
  EXPECT_EQ(u.in_channels, 2);
  EXPECT_EQ(u.num_classes, 3);  // background, liver, tumor
  EXPECT_EQ(u.features_per_stage, (std::vector<int64_t>{32, 64, 128, 256, 320, 320}));
  EXPECT_EQ(u.kernel_sizes[0], (std::vector<int64_t>{1, 3, 3}));
  EXPECT_EQ(u.strides[1], (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(u.n_conv_per_stage_decoder.size(), 5u);
  EXPECT_EQ(u.norm, "instance");
  EXPECT_TRUE(u.norm_affine);
  EXPECT_EQ(u.norm_eps, 1e-5);
  EXPECT_EQ(u.negative_slope, 0.01);
  EXPECT_FALSE(u.deep_supervision);
  // The cascade's second stage also sees the low-res prediction one-hot (2 foreground labels).
  EXPECT_EQ(to_unet_config(p.configuration("3d_cascade_fullres"), d).in_channels, 4);
  const UNetConfig u2 = to_unet_config(p.configuration("2d"), d);
  EXPECT_EQ(u2.dims, 2);
  EXPECT_EQ(u2.features_per_stage.back(), 512);
}

TEST(NnunetPlans, MapsResidualEncoderUNetOfTheResEncPresets) {
  const Plans p = parse_plans(make_plans("ResidualEncoderUNet"), "plans.json");
  const DatasetInfo d = parse_dataset_json(make_dataset(), "dataset.json");
  const Configuration full = p.configuration("3d_fullres");
  EXPECT_EQ(full.network_short_name(), "ResidualEncoderUNet");
  const UNetConfig u = to_unet_config(full, d);
  EXPECT_EQ(u.encoder, "residual");
  EXPECT_EQ(u.dims, 3);
  EXPECT_EQ(u.in_channels, 2);
  EXPECT_EQ(u.num_classes, 3);
  EXPECT_EQ(u.features_per_stage, (std::vector<int64_t>{32, 64, 128, 256, 320, 320}));
  EXPECT_EQ(u.kernel_sizes[0], (std::vector<int64_t>{1, 3, 3}));
  EXPECT_EQ(u.strides[1], (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(u.n_blocks_per_stage, (std::vector<int64_t>{1, 3, 4, 6, 6, 6}));
  EXPECT_TRUE(u.n_conv_per_stage.empty());
  EXPECT_EQ(u.n_conv_per_stage_decoder, (std::vector<int64_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(u.stem_features(), 32);  // stem_channels absent: features_per_stage[0]
  EXPECT_TRUE(u.conv_bias);
  EXPECT_EQ(u.norm, "instance");
  EXPECT_TRUE(u.norm_affine);
  EXPECT_EQ(u.negative_slope, 0.01);  // nonlin_kwargs {"inplace": true}: torch's default slope
  const UNetConfig u2 = to_unet_config(p.configuration("2d"), d);
  EXPECT_EQ(u2.dims, 2);
  EXPECT_EQ(u2.n_blocks_per_stage, (std::vector<int64_t>{1, 3, 4, 6, 6, 6, 6}));
  EXPECT_EQ(to_unet_config(p.configuration("3d_cascade_fullres"), d).in_channels, 4);
  // The JSON form round-trips (what a bundle's model.json would hold).
  EXPECT_EQ(unet_config_to_json(parse_unet_config(unet_config_to_json(u))).dump(), unet_config_to_json(u).dump());

  // Optional kwargs of ResidualEncoderUNet: stem_channels, block (BasicBlockD only), bottleneck_channels.
  Json plans = make_plans("ResidualEncoderUNet");
  Json& k = plans["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"];
  k["stem_channels"] = 24;
  k["block"] = "dynamic_network_architectures.building_blocks.residual.BasicBlockD";
  k["bottleneck_channels"] = nullptr;
  const UNetConfig stem = to_unet_config(parse_plans(plans, "p").configuration("3d_fullres"), d);
  EXPECT_EQ(stem.stem_channels, 24);
  k["block"] = "dynamic_network_architectures.building_blocks.residual.BottleneckD";
  std::string m = bad_model_message([&] { to_unet_config(parse_plans(plans, "p").configuration("3d_fullres"), d); });
  EXPECT_NE(m.find("arch_kwargs.block"), std::string::npos) << m;
  EXPECT_NE(m.find("BottleneckD"), std::string::npos) << m;
  // PlainConvUNet's kwargs are not ResidualEncoderUNet's (and the reverse): named, not ignored.
  plans = make_plans("ResidualEncoderUNet");
  plans["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"]["n_conv_per_stage"] = 2;
  m = bad_model_message([&] { to_unet_config(parse_plans(plans, "p").configuration("3d_fullres"), d); });
  EXPECT_NE(m.find("n_conv_per_stage"), std::string::npos) << m;
  plans = make_plans("ResidualEncoderUNet");
  plans["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"]["nonlin_first"] = false;
  m = bad_model_message([&] { to_unet_config(parse_plans(plans, "p").configuration("3d_fullres"), d); });
  EXPECT_NE(m.find("nonlin_first"), std::string::npos) << m;
  plans = make_plans();
  plans["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"]["stem_channels"] = 32;
  m = bad_model_message([&] { to_unet_config(parse_plans(plans, "p").configuration("3d_fullres"), d); });
  EXPECT_NE(m.find("stem_channels"), std::string::npos) << m;
  plans = make_plans("ResidualEncoderUNet");
  plans["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"]["n_blocks_per_stage"] = Json::parse("[1, 3]");
  m = bad_model_message([&] { to_unet_config(parse_plans(plans, "p").configuration("3d_fullres"), d); });
  EXPECT_NE(m.find("n_blocks_per_stage"), std::string::npos) << m;
}

TEST(NnunetPlans, NamesUnsupportedArchitectures) {
  Json plans = make_plans();
  Json& kwargs = plans["configurations"]["3d_fullres"]["architecture"];
  kwargs["network_class_name"] = "my_lab.networks.AttentionGatedUNet";
  const Plans p = parse_plans(plans, "plans.json");
  const DatasetInfo d = parse_dataset_json(make_dataset(), "dataset.json");
  EXPECT_NE(bad_model_message([&] { to_unet_config(p.configuration("3d_fullres"), d); }).find("AttentionGatedUNet"),
            std::string::npos);

  plans = make_plans();
  plans["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"]["n_conv_per_stages"] = 2;
  EXPECT_NE(bad_model_message([&] { to_unet_config(parse_plans(plans, "p").configuration("3d_fullres"), d); })
                .find("n_conv_per_stages"),
            std::string::npos);
  plans = make_plans();
  plans["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"]["conv_op"] = "torch.nn.modules.conv.Conv2d";
  EXPECT_NE(bad_model_message([&] { to_unet_config(parse_plans(plans, "p").configuration("3d_fullres"), d); })
                .find("does not match"),
            std::string::npos);
}

// The 3d_fullres configuration of make_plans(cls) rewritten as plans before nnU-Net v2.2 stored it
// (no "architecture": class name, base/max features, kernel and pool sizes at the top level).
Json old_style_plans(const std::string& cls, const char* count_kwarg) {
  Json plans = make_plans(cls);
  Json& c = plans["configurations"]["3d_fullres"];
  const Json kwargs = c["architecture"]["arch_kwargs"];
  Json old = Json::object();
  for (const auto& [k, v] : c.as_object()) {
    if (k != "architecture") old[k] = v;
  }
  old["UNet_class_name"] = cls;
  old["UNet_base_num_features"] = 32;
  old["unet_max_num_features"] = 320;
  old["n_conv_per_stage_encoder"] = *kwargs.find(count_kwarg);
  old["n_conv_per_stage_decoder"] = *kwargs.find("n_conv_per_stage_decoder");
  old["conv_kernel_sizes"] = *kwargs.find("kernel_sizes");
  old["pool_op_kernel_sizes"] = *kwargs.find("strides");
  c = old;
  return plans;
}

TEST(NnunetPlans, RebuildsTheArchitectureOfOldPlans) {
  const DatasetInfo d = parse_dataset_json(make_dataset(), "dataset.json");
  for (const auto& [cls, count] : {std::pair<std::string, const char*>{"PlainConvUNet", "n_conv_per_stage"},
                                   {"ResidualEncoderUNet", "n_blocks_per_stage"}}) {
    const UNetConfig from_old =
        to_unet_config(parse_plans(old_style_plans(cls, count), "p").configuration("3d_fullres"), d);
    const UNetConfig from_new = to_unet_config(parse_plans(make_plans(cls), "p").configuration("3d_fullres"), d);
    EXPECT_EQ(from_old.encoder, cls == "PlainConvUNet" ? "plain" : "residual");
    EXPECT_EQ(unet_config_to_json(from_old).dump(), unet_config_to_json(from_new).dump()) << cls;
  }
}

TEST(NnunetDataset, LabelsRegionsAndIgnore) {
  const DatasetInfo d = parse_dataset_json(make_dataset(), "dataset.json");
  EXPECT_EQ(d.channel_names, (std::vector<std::string>{"CT", "T2"}));
  EXPECT_FALSE(d.has_regions());
  EXPECT_EQ(d.all_labels(), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(d.file_ending, ".nii.gz");

  const DatasetInfo r = parse_dataset_json(make_region_dataset(), "dataset.json");
  EXPECT_TRUE(r.has_regions());
  EXPECT_EQ(r.num_segmentation_heads(), 3);
  EXPECT_EQ(r.foreground_regions()[0], (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(r.ignore_label.value_or(-1), 4);
  EXPECT_EQ(r.labels.size(), 4u);  // ignore is not a label

  Json bad = make_region_dataset();
  bad["labels"]["ignore"] = 7;
  EXPECT_NE(bad_model_message([&] { parse_dataset_json(bad, "d.json"); }).find("highest label"), std::string::npos);
  bad = make_region_dataset();
  bad["regions_class_order"] = Json::array();
  EXPECT_NE(bad_model_message([&] { parse_dataset_json(bad, "d.json"); }).find("regions_class_order"),
            std::string::npos);
  bad = make_dataset();
  bad["labels"]["background"] = 1;
  EXPECT_NE(bad_model_message([&] { parse_dataset_json(bad, "d.json"); }).find("background"), std::string::npos);
  bad = make_dataset();
  bad["channel_names"]["3"] = "x";
  EXPECT_NE(bad_model_message([&] { parse_dataset_json(bad, "d.json"); }).find("channel 2 is missing"),
            std::string::npos);
}

TEST(NnunetDataset, ChannelNamesPickNormalisationLikeNnunet) {
  EXPECT_EQ(normalization_for_channel("CT"), "CTNormalization");
  EXPECT_EQ(normalization_for_channel("ct"), "CTNormalization");
  EXPECT_EQ(normalization_for_channel("noNorm"), "NoNormalization");
  EXPECT_EQ(normalization_for_channel("rgb_to_0_1"), "RGBTo01Normalization");
  EXPECT_EQ(normalization_for_channel("T2"), "ZScoreNormalization");
  EXPECT_EQ(normalization_for_channel("CT scan"), "ZScoreNormalization");
}

// A scratch folder under the test's working directory (the build tree under ctest).
struct ScratchDir {
  fs::path path = fs::absolute("nnunet_plans_test_" + std::to_string(getpid()));
  ScratchDir() { fs::create_directories(path); }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(NnunetResultFolder, ListsFoldsAndParsesTheFolderName) {
  ScratchDir scratch;
  const fs::path dir = scratch.path / "nnUNetTrainer__nnUNetPlans__3d_fullres";
  write_text(dir / "plans.json", make_plans().dump(2));
  write_text(dir / "dataset.json", make_dataset().dump(2));
  for (const char* f : {"fold_10", "fold_all", "fold_1", "fold_0"}) write_text(dir / f / "checkpoint_final.pth", "x");
  write_text(dir / "fold_1" / "checkpoint_best.pth", "x");
  write_text(dir / "fold_x" / "checkpoint_final.pth", "x");  // not a fold
  fs::create_directories(dir / "fold_2");                   // a fold still training: no checkpoint yet

  const ResultFolder r = open_result_folder(dir.string());
  EXPECT_EQ(r.trainer, "nnUNetTrainer");
  EXPECT_EQ(r.plans_identifier, "nnUNetPlans");
  EXPECT_EQ(r.configuration, "3d_fullres");
  std::vector<std::string> names;
  for (const auto& f : r.folds) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fold_0", "fold_1", "fold_2", "fold_10", "fold_all"}));
  EXPECT_EQ(r.folds[1].checkpoints, (std::vector<std::string>{"checkpoint_best.pth", "checkpoint_final.pth"}));
  EXPECT_TRUE(r.folds[2].checkpoints.empty());
  EXPECT_EQ(r.dataset.channel_names.size(), 2u);

  fs::remove(dir / "dataset.json");
  EXPECT_NE(bad_model_message([&] { open_result_folder(dir.string()); }).find("dataset.json is missing"),
            std::string::npos);
  EXPECT_NE(bad_model_message([&] { open_result_folder((scratch.path / "nope").string()); }).find("does not exist"),
            std::string::npos);
}

TEST(NnunetCheckpoint, ReadsWeightsMirrorAxesAndTrainer) {
  if (std::system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 lacks torch/numpy: cannot write the .pth fixture";
  }
  ScratchDir scratch;
  const std::string pth = (scratch.path / "checkpoint_final.pth").string();
  const std::string none_pth = (scratch.path / "no_axes.pth").string();
  const std::string script =
      "import torch, collections, numpy as np, sys\n"
      "sd = collections.OrderedDict([('encoder.stages.0.0.convs.0.conv.weight', torch.arange(54.).reshape(2,1,3,3,3)),"
      " ('decoder.seg_layers.0.bias', torch.tensor([0.5, -0.5]))])\n"
      "ck = {'network_weights': sd, 'optimizer_state': {'state': {}, 'param_groups': []},"
      " 'grad_scaler_state': None, 'logging': {'mean_fg_dice': [np.float64(0.5)]}, '_best_ema': np.float64(0.5),"
      " 'current_epoch': 1000, 'init_args': {'configuration': '3d_fullres', 'fold': 0, 'device': torch.device('cpu')},"
      " 'trainer_name': 'nnUNetTrainer_onlyMirror01', 'inference_allowed_mirroring_axes': (0, 1)}\n"
      "torch.save(ck, sys.argv[1])\n"
      "ck['inference_allowed_mirroring_axes'] = None\n"
      "torch.save(ck, sys.argv[2])\n";
  write_text(scratch.path / "make.py", script);
  ASSERT_EQ(std::system(("/usr/bin/python3 '" + (scratch.path / "make.py").string() + "' '" + pth + "' '" +
                         none_pth + "'").c_str()),
            0);
  const TrainedCheckpoint ck = read_checkpoint(pth);
  ASSERT_EQ(ck.weights.size(), 2u);
  EXPECT_EQ(ck.weights[0].first, "encoder.stages.0.0.convs.0.conv.weight");
  EXPECT_EQ(ck.weights[0].second.sizes().vec(), (std::vector<int64_t>{2, 1, 3, 3, 3}));
  EXPECT_EQ(ck.weights[0].second.flatten()[53].item<float>(), 53.0f);
  EXPECT_EQ(ck.weights[1].second[1].item<float>(), -0.5f);
  ASSERT_TRUE(ck.mirror_axes.has_value());
  EXPECT_EQ(*ck.mirror_axes, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(ck.trainer_name, "nnUNetTrainer_onlyMirror01");
  EXPECT_EQ(ck.configuration, "3d_fullres");
  EXPECT_EQ(ck.epoch, 1000);
  EXPECT_FALSE(read_checkpoint(none_pth).mirror_axes.has_value());
}

// plans.json -> UNetConfig -> a PyTorch PlainConvUNet (make_unet_fixture.py) saved as an nnU-Net
// checkpoint -> read_checkpoint -> voxseg's U-Net: the logits must equal PyTorch's.
TEST(NnunetEndToEnd, PlansAndCheckpointRunLikePyTorch) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  Json plans = make_plans();
  Json& tiny = plans["configurations"]["3d_tiny"];
  tiny["inherits_from"] = "3d_fullres";
  tiny["patch_size"] = Json::parse("[4, 16, 24]");
  Json kwargs = plans["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"];
  kwargs["n_stages"] = 3;
  kwargs["features_per_stage"] = Json::parse("[4, 8, 16]");
  kwargs["kernel_sizes"] = Json::parse("[[1, 3, 3], [3, 3, 3], [3, 3, 3]]");
  kwargs["strides"] = Json::parse("[[1, 1, 1], [1, 2, 2], [2, 2, 2]]");
  kwargs["n_conv_per_stage"] = Json::parse("[2, 2, 2]");
  kwargs["n_conv_per_stage_decoder"] = Json::parse("[1, 2]");
  tiny["architecture"] = plans["configurations"]["3d_fullres"]["architecture"];
  tiny["architecture"]["arch_kwargs"] = kwargs;
  const Plans p = parse_plans(plans, "plans.json");
  const UNetConfig config = to_unet_config(p.configuration("3d_tiny"), parse_dataset_json(make_dataset(), "d"));
  ASSERT_EQ(config.in_channels, 2);
  ASSERT_EQ(config.num_classes, 3);

  const auto ref = test::make_reference(config, test::scratch_dir("nnunet_e2e"), 5, {1, 2, 4, 16, 24});
  const TrainedCheckpoint ck = read_checkpoint((ref.dir / "checkpoint_final.pth").string());
  EXPECT_EQ(ck.mirror_axes.value_or(std::vector<int64_t>{}), (std::vector<int64_t>{0, 1, 2}));
  UNet net(config);
  load_state_dict(net, ck.weights, "checkpoint_final.pth");
  net.train(false);
  torch::NoGradGuard no_grad;
  const at::Tensor out = net.forward(ref.io.at("input"));
  EXPECT_LT(test::max_abs_diff(out, ref.io.at("output")), 1e-4);
  EXPECT_GT(ref.io.at("output").abs().max().item<double>(), 0.1);
}

// The same with a ResEnc plans.json (nnUNetResEncUNetMPlans structure, scaled down): plans ->
// UNetConfig (residual encoder) -> PyTorch ResidualEncoderUNet checkpoint -> voxseg's U-Net.
TEST(NnunetEndToEnd, ResEncPlansAndCheckpointRunLikePyTorch) {
  VOXSEG_REQUIRE_PYTHON_TORCH();
  Json plans = make_plans("ResidualEncoderUNet");
  Json& tiny = plans["configurations"]["3d_tiny"];
  tiny["inherits_from"] = "3d_fullres";
  tiny["patch_size"] = Json::parse("[4, 16, 24]");
  Json kwargs = plans["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"];
  kwargs["n_stages"] = 4;
  kwargs["features_per_stage"] = Json::parse("[4, 8, 16, 16]");
  kwargs["kernel_sizes"] = Json::parse("[[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]]");
  kwargs["strides"] = Json::parse("[[1, 1, 1], [1, 2, 2], [2, 2, 2], [1, 2, 2]]");
  kwargs["n_blocks_per_stage"] = Json::parse("[1, 3, 4, 2]");
  kwargs["n_conv_per_stage_decoder"] = Json::parse("[1, 1, 1]");
  tiny["architecture"] = plans["configurations"]["3d_fullres"]["architecture"];
  tiny["architecture"]["arch_kwargs"] = kwargs;
  const Plans p = parse_plans(plans, "plans.json");
  const UNetConfig config = to_unet_config(p.configuration("3d_tiny"), parse_dataset_json(make_dataset(), "d"));
  ASSERT_EQ(config.encoder, "residual");

  const auto ref = test::make_reference(config, test::scratch_dir("nnunet_resenc_e2e"), 9, {1, 2, 4, 16, 24});
  const TrainedCheckpoint ck = read_checkpoint((ref.dir / "checkpoint_final.pth").string());
  EXPECT_EQ(ck.weights.size(), ref.keys.size());
  UNet net(config);
  load_state_dict(net, ck.weights, "checkpoint_final.pth");
  net.train(false);
  torch::NoGradGuard no_grad;
  const at::Tensor out = net.forward(ref.io.at("input"));
  const double diff = test::max_abs_diff(out, ref.io.at("output"));
  EXPECT_LT(diff, 1e-4);
  EXPECT_GT(ref.io.at("output").abs().max().item<double>(), 0.1);
  std::printf("ResEnc plans end to end: max |voxseg - PyTorch| = %.3g\n", diff);
}

}  // namespace
}  // namespace voxseg::models::nnunet
