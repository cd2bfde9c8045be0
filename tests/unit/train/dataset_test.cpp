#include "voxseg/train/dataset.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "voxseg/core/error.h"

namespace fs = std::filesystem;
using namespace voxseg::train;

namespace {
fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("voxseg_train_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
void touch(const fs::path& p, const std::string& text = "x") { std::ofstream(p) << text; }

voxseg::Volume volume(torch::Tensor t, double spacing_x = 1.0) {
  voxseg::Volume v;
  v.data = t;
  v.geometry.size = {t.size(2), t.size(1), t.size(0)};
  v.geometry.spacing = {spacing_x, 1, 1};
  return v;
}
Dataset two_channel_dataset() {
  Dataset d;
  d.channel_names = {"T1", "T2"};
  d.labels = {{0, "background"}, {1, "a"}, {2, "b"}};
  return d;
}
}  // namespace

TEST(ReadDataset, NnunetFolderListsCasesAndChannels) {
  const auto d = temp_dir("folder");
  fs::create_directories(d / "imagesTr");
  fs::create_directories(d / "labelsTr");
  touch(d / "dataset.json",
        R"({"channel_names": {"0": "T1", "1": "T2"}, "labels": {"background": 0, "lesion": 2, "brain": 1},
            "numTraining": 2, "file_ending": ".nii.gz"})");
  for (std::string c : {"b_002", "a_001"}) {
    touch(d / "labelsTr" / (c + ".nii.gz"));
    touch(d / "imagesTr" / (c + "_0000.nii.gz"));
    touch(d / "imagesTr" / (c + "_0001.nii.gz"));
  }
  touch(d / "labelsTr" / "notes.txt");
  const auto ds = read_dataset(d.string());
  ASSERT_EQ(ds.cases.size(), 2u);
  EXPECT_EQ(ds.cases[0].name, "a_001");
  EXPECT_EQ(ds.cases[0].images.size(), 2u);
  EXPECT_EQ(fs::path(ds.cases[0].images[1]).filename(), "a_001_0001.nii.gz");
  ASSERT_EQ(ds.labels.size(), 3u);
  EXPECT_EQ(ds.labels[1].name, "brain");
  EXPECT_EQ(ds.labels[2].id, 2);
  EXPECT_EQ(ds.channel_names[1], "T2");
  fs::remove_all(d);
}

TEST(ReadDataset, MissingDatasetJsonIsBadInput) {
  const auto d = temp_dir("nojson");
  try {
    read_dataset(d.string());
    FAIL() << "no error";
  } catch (const voxseg::Error& e) {
    EXPECT_EQ(e.code(), voxseg::ExitCode::BadInput);
    EXPECT_NE(std::string(e.what()).find("dataset.json"), std::string::npos);
  }
  fs::remove_all(d);
}

TEST(ReadDataset, BadLabelsAreNamed) {
  Dataset ds;
  EXPECT_THROW(parse_dataset_json(voxseg::Json::parse(R"({"labels": {"a": 1}})"), ds), std::invalid_argument);
  EXPECT_THROW(parse_dataset_json(voxseg::Json::parse(R"({"labels": {"background": 0, "r": [1, 2]}})"), ds),
               std::invalid_argument);
  EXPECT_THROW(parse_dataset_json(voxseg::Json::parse(R"({"labels": {"background": 0, "a": 1, "b": 1}})"), ds),
               std::invalid_argument);
}

TEST(ReadDataset, CsvRowsResolveRelativePaths) {
  const auto d = temp_dir("csv");
  touch(d / "d.json", R"({"channel_names": {"0": "CT"}, "labels": {"background": 0, "liver": 1}})");
  touch(d / "list.csv", "image,label\nimgs/a.nii.gz,labs/a.nii.gz\n/abs/b.nii.gz,\"labs/b,1.nii.gz\"\n\n");
  const auto ds = read_dataset((d / "list.csv").string(), (d / "d.json").string());
  ASSERT_EQ(ds.cases.size(), 2u);
  EXPECT_EQ(ds.cases[0].images[0], (d / "imgs/a.nii.gz").string());
  EXPECT_EQ(ds.cases[1].images[0], "/abs/b.nii.gz");
  EXPECT_EQ(ds.cases[1].label, (d / "labs/b,1.nii.gz").string());
  EXPECT_EQ(ds.cases[0].name, "a");
  EXPECT_EQ(ds.channel_names[0], "CT");
  touch(d / "bad.csv", "picture,label\na,b\n");
  EXPECT_THROW(read_dataset((d / "bad.csv").string()), voxseg::Error);
  fs::remove_all(d);
}

TEST(CheckCase, GoodCaseHasNoProblems) {
  auto lab = torch::zeros({4, 5, 6}, torch::kUInt8);
  lab[1][2][3] = 2;
  const auto img = volume(torch::rand({4, 5, 6}));
  EXPECT_TRUE(check_case({img, img}, volume(lab), two_channel_dataset()).empty());
}

TEST(CheckCase, EachProblemIsReported) {
  auto lab = torch::zeros({4, 5, 6}, torch::kInt16);
  lab[0][0][0] = 7;
  const auto img = volume(torch::rand({4, 5, 6}));
  const auto other = volume(torch::rand({4, 5, 6}), 2.0);
  const auto problems = check_case({img, other}, volume(lab, 1.5), two_channel_dataset());
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].find("channel 1 geometry"), std::string::npos);
  EXPECT_NE(problems[1].find("label geometry"), std::string::npos);
  EXPECT_NE(problems[2].find("not declared"), std::string::npos);
  EXPECT_NE(problems[2].find("7"), std::string::npos);
  const auto missing = check_case({img}, volume(torch::zeros({4, 5, 6})), two_channel_dataset());
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].find("1 image channels, dataset declares 2"), std::string::npos);
}

TEST(CheckCase, InstanceMapsAcceptAnyNonNegativeId) {
  auto ds = two_channel_dataset();
  ds.channel_names = {"microscopy"};
  ds.instances = true;
  auto lab = torch::zeros({4, 5, 6}, torch::kInt32);
  lab[1][1][1] = 57;
  const auto img = volume(torch::rand({4, 5, 6}));
  EXPECT_TRUE(check_case({img}, volume(lab), ds).empty());
  lab[1][1][2] = -1;
  EXPECT_EQ(check_case({img}, volume(lab), ds).size(), 1u);
}
