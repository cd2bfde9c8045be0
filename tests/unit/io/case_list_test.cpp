#include "voxseg/io/case_list.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "voxseg/core/error.h"
#include "voxseg/io/dicom_series.h"
#include "voxseg/io/volume_io.h"
#include "voxseg/io/volume_stats.h"

namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("voxseg-cases-test-" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

voxseg::Volume small_volume() {
  voxseg::Volume v;
  v.geometry.size = {3, 2, 2};
  v.data = at::arange(12, at::kShort).reshape({2, 2, 3});
  return v;
}
}  // namespace

TEST(ExpandInputs, FolderGivesVolumesAndDicomSubfoldersInSortedOrder) {
  const fs::path dir = fresh_dir("cases");
  const auto v = small_volume();
  voxseg::io::write_volume(v, dir / "b_case.nii.gz");
  voxseg::io::write_volume(v, dir / "a_case.nrrd");
  voxseg::io::write_dicom_series(v, dir / "c_series", {});
  { std::ofstream(dir / "notes.txt") << "x"; }
  { std::ofstream(dir / ".hidden.partial-1.nii.gz") << "x"; }
  fs::create_directories(dir / "empty_sub");
  const auto cases = voxseg::io::expand_inputs({dir.string()});
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0].name, "a_case");
  EXPECT_EQ(cases[1].name, "b_case");
  EXPECT_EQ(cases[2].name, "c_series");
  EXPECT_EQ(cases[2].path, (dir / "c_series").string());
}

TEST(ExpandInputs, FileAndDicomFolderAreOneCaseEachInArgumentOrder) {
  const fs::path dir = fresh_dir("direct");
  const auto v = small_volume();
  voxseg::io::write_volume(v, dir / "img.mha");
  voxseg::io::write_dicom_series(v, dir / "series", {});
  const auto cases = voxseg::io::expand_inputs({(dir / "series").string() + "/", (dir / "img.mha").string()});
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].name, "series");
  EXPECT_EQ(cases[1].name, "img");
}

TEST(ExpandInputs, MissingPathAndFolderWithoutCasesAreBadInput) {
  const fs::path dir = fresh_dir("bad");
  for (const std::string& input : {(dir / "nope.nii.gz").string(), dir.string()}) {
    try {
      voxseg::io::expand_inputs({input});
      ADD_FAILURE() << "no error for " << input;
    } catch (const voxseg::Error& e) {
      EXPECT_EQ(e.code(), voxseg::ExitCode::BadInput);
    }
  }
}

TEST(VolumeStatistics, PercentilesFollowLinearInterpolationAndLabelsCountVoxels) {
  voxseg::Volume v;
  v.geometry.size = {100, 1, 1};
  v.geometry.spacing = {2, 2, 2.5};  // 10 mm3 per voxel
  v.data = at::arange(1, 101, at::kInt).reshape({1, 1, 100});
  auto s = voxseg::io::volume_statistics(v);
  EXPECT_DOUBLE_EQ(s.find("p1")->as_double(), 1.99);  // numpy.percentile(range(1,101), 1)
  EXPECT_DOUBLE_EQ(s.find("p50")->as_double(), 50.5);
  EXPECT_DOUBLE_EQ(s.find("p99")->as_double(), 99.01);
  EXPECT_DOUBLE_EQ(s.find("mean")->as_double(), 50.5);
  EXPECT_FALSE(s.contains("labels"));  // 100 distinct values > 32
  v.data = v.data.to(at::kFloat);
  s = voxseg::io::volume_statistics(v);
  EXPECT_NEAR(s.find("p1")->as_double(), 1.99, 1e-9);
  EXPECT_NEAR(s.find("p99")->as_double(), 99.01, 1e-9);

  v.data = (at::arange(100, at::kByte) % 3).reshape({1, 1, 100});  // 34 zeros, 33 ones, 33 twos
  s = voxseg::io::volume_statistics(v);
  const auto& labels = s.find("labels")->as_array();
  ASSERT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels[0].find("voxels")->as_int(), 34);
  EXPECT_EQ(labels[2].find("value")->as_int(), 2);
  EXPECT_DOUBLE_EQ(labels[1].find("volume_ml")->as_double(), 0.33);
}
