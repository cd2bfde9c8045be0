// The QC pictures' one window per image: CT presets, MR percentiles, and how CT is recognised.
#include <gtest/gtest.h>

#include <random>

#include "voxseg/core/error.h"
#include "voxseg/metrics/display_window.h"

namespace vm = voxseg::metrics;

namespace {

// A CT-like image: air around a body of soft tissue (HU), 4 % bone.
std::vector<float> ct_like() {
  std::vector<float> v;
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0, 12);
  for (int i = 0; i < 20000; ++i)
    v.push_back(i < 6000 ? -1000 + noise(rng) : i < 19200 ? 50 + noise(rng) : 700 + noise(rng));
  return v;
}

// An MR-like image: 0 background, tissue 200..900.
std::vector<float> mr_like() {
  std::vector<float> v;
  for (int i = 0; i < 20000; ++i) v.push_back(i < 8000 ? 0.f : float(200 + (i * 7919) % 700));
  return v;
}

}  // namespace

TEST(DisplayWindow, CtByIntensitiesGetsTheAbdomenPreset) {
  const auto v = ct_like();
  EXPECT_TRUE(vm::looks_like_ct(v.data(), v.size()));
  const auto w = vm::choose_window("auto", v.data(), v.size(), "", "");
  EXPECT_DOUBLE_EQ(w.level, 40);
  EXPECT_DOUBLE_EQ(w.width, 400);
  EXPECT_EQ(w.name, "abdomen");
  EXPECT_EQ(w.caption(), "window 40/400 (abdomen; CT (intensities in HU))");
}

TEST(DisplayWindow, MrGetsWholeImagePercentiles) {
  const auto v = mr_like();
  EXPECT_FALSE(vm::looks_like_ct(v.data(), v.size()));
  const auto w = vm::choose_window("auto", v.data(), v.size(), "", "");
  EXPECT_EQ(w.name, "percentile 0.5-99.5");
  EXPECT_NEAR(w.lo(), 0, 1e-9);   // 0.5 % of the voxels are background
  EXPECT_NEAR(w.hi(), 896, 2.0);  // 99.5 % of all voxels
}

TEST(DisplayWindow, ModalityHintWinsOverIntensities) {
  const auto ct = ct_like(), mr = mr_like();
  const auto a = vm::choose_window("auto", mr.data(), mr.size(), "CT", "label table");
  EXPECT_EQ(a.name, "abdomen");
  EXPECT_EQ(a.reason, "CT (label table)");
  const auto b = vm::choose_window("auto", ct.data(), ct.size(), "MR", "DICOM");
  EXPECT_EQ(b.name, "percentile 0.5-99.5");
  EXPECT_EQ(b.reason, "MR (DICOM)");
}

TEST(DisplayWindow, ExplicitPresetsAndLevelWidth) {
  const auto v = ct_like();
  struct Case {
    const char* spec;
    double level, width;
  };
  for (const Case& c :
       {Case{"lung", -600, 1500}, Case{"bone", 400, 1800}, Case{"brain", 40, 80}, Case{"-50,350", -50, 350}}) {
    const auto w = vm::choose_window(c.spec, v.data(), v.size(), "MR", "label table");
    EXPECT_DOUBLE_EQ(w.level, c.level) << c.spec;
    EXPECT_DOUBLE_EQ(w.width, c.width) << c.spec;
    EXPECT_EQ(w.reason, "--report-window");
  }
  const auto p = vm::choose_window("percentile", v.data(), v.size(), "CT", "DICOM");
  EXPECT_EQ(p.name, "percentile 0.5-99.5");
}

TEST(DisplayWindow, BadSpecsAreUsageErrors) {
  for (const char* bad : {"", "soft", "40", "40,0", "40,-5", "a,b", "40,400,1"}) {
    try {
      vm::check_report_window(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const voxseg::Error& e) {
      EXPECT_EQ(e.code(), voxseg::ExitCode::Usage);
      EXPECT_NE(std::string(e.what()).find("--report-window"), std::string::npos);
    }
  }
  for (const char* good : {"auto", "abdomen", "lung", "bone", "brain", "percentile", "40,400", "-600,1500"})
    EXPECT_NO_THROW(vm::check_report_window(good)) << good;
}

TEST(DisplayWindow, ConstantImageHasAPositiveWidth) {
  const std::vector<float> v(100, 7.f);
  const auto w = vm::choose_window("auto", v.data(), v.size(), "", "");
  EXPECT_GT(w.width, 0);
  EXPECT_LE(w.lo(), 7);
  EXPECT_GE(w.hi(), 7);
}
