#include "voxseg/train/trainer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "voxseg/train/detail/prepare.h"

using namespace voxseg::train;

TEST(Splits, EveryCaseIsHeldOutExactlyOnce) {
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i) names.push_back("case_" + std::to_string(i));
  const auto splits = make_splits(names, 5);
  ASSERT_EQ(splits.size(), 5u);
  std::multiset<std::string> held;
  for (const auto& [train, val] : splits) {
    EXPECT_EQ(train.size() + val.size(), names.size());
    EXPECT_GE(val.size(), 2u);
    for (const auto& v : val) {
      held.insert(v);
      EXPECT_EQ(std::count(train.begin(), train.end(), v), 0);
    }
  }
  EXPECT_EQ(held.size(), names.size());
  for (const auto& n : names) EXPECT_EQ(held.count(n), 1u);
  std::reverse(names.begin(), names.end());
  EXPECT_EQ(make_splits(names, 5), splits);  // independent of input order
  EXPECT_TRUE(make_splits({"a", "b"}, 5).empty());
}

TEST(TrainingLogs, CsvJsonAndSvgHaveOneEntryPerEpoch) {
  std::vector<voxseg::Json> rows;
  for (int e = 1; e <= 3; ++e) {
    voxseg::Json r = voxseg::Json::object();
    r["epoch"] = e;
    r["train_loss"] = 1.0 / e;
    r["lr"] = 0.01;
    voxseg::Json d = voxseg::Json::object();
    d["liver"] = 0.5 + 0.1 * e;
    r["val_dice"] = d;
    r["val_dice_mean"] = 0.5 + 0.1 * e;
    r["val_dice_ema"] = 0.5;
    r["epoch_seconds"] = 2.0;
    r["samples_per_second"] = 4.0;
    r["data_wait_fraction"] = 0.25;
    rows.push_back(r);
  }
  const auto dir = std::filesystem::temp_directory_path() / ("voxseg_train_logs_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_training_logs(dir, rows);
  std::ifstream csv(dir / "training_log.csv");
  std::string header, line;
  std::getline(csv, header);
  EXPECT_EQ(header,
            "epoch,train_loss,lr,val_dice_mean,val_dice_ema,dice_liver,epoch_seconds,samples_per_second,"
            "data_wait_fraction,allreduce_fraction");
  int n = 0;
  while (std::getline(csv, line)) {
    ++n;
    EXPECT_EQ(line.substr(line.size() - 8), ",4,0.25,") << line;  // no all-reduce in a one-process run: empty
  }
  EXPECT_EQ(n, 3);
  const auto json = voxseg::read_json_file((dir / "training_log.json").string(), voxseg::ExitCode::BadInput);
  EXPECT_EQ(json.size(), 3u);
  const auto svg = training_curve_svg(rows);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 5, true);
  size_t polylines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++polylines;
  EXPECT_EQ(polylines, 3u);
  std::filesystem::remove_all(dir);
}

TEST(CacheKey, ChangesWithThePlanAndTheInputs) {
  TrainCase c{"a", {"/nonexistent/a_0000.nii.gz"}, "/nonexistent/a.nii.gz"};
  TrainPlan p;
  p.normalization = {ChannelNorm{}};
  const auto k1 = voxseg::train::detail::cache_key(c, p, false);
  EXPECT_EQ(k1, voxseg::train::detail::cache_key(c, p, false));
  auto q = p;
  q.target_spacing_mm[0] = 2;
  EXPECT_NE(k1, voxseg::train::detail::cache_key(c, q, false));
  EXPECT_NE(k1, voxseg::train::detail::cache_key(c, p, true));
  auto d = c;
  d.label = "/nonexistent/b.nii.gz";
  EXPECT_NE(k1, voxseg::train::detail::cache_key(d, p, false));
}
