// Instance matching, label tables, resampling and the PNG encoder.
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "voxseg/core/error.h"
#include "voxseg/metrics/instances.h"
#include "voxseg/metrics/labels.h"
#include "voxseg/metrics/png.h"
#include "voxseg/metrics/resample.h"

namespace vm = voxseg::metrics;
namespace fs = std::filesystem;
using voxseg::Volume;

namespace {

Volume grid(int64_t nz, int64_t ny, int64_t nx) {
  Volume v;
  v.data = at::zeros({nz, ny, nx}, at::kShort);
  v.geometry.size = {nx, ny, nz};
  return v;
}

void box(Volume& v, std::array<int64_t, 3> lo, std::array<int64_t, 3> hi, int16_t id) {
  auto* d = v.data.data_ptr<int16_t>();
  const int64_t ny = v.data.size(1), nx = v.data.size(2);
  for (int64_t z = lo[0]; z < hi[0]; ++z)
    for (int64_t y = lo[1]; y < hi[1]; ++y)
      for (int64_t x = lo[2]; x < hi[2]; ++x) d[(z * ny + y) * nx + x] = id;
}

fs::path write_temp(const std::string& name, const std::string& text) {
  const fs::path p = fs::temp_directory_path() / ("voxseg_metrics_test_" + std::to_string(getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p;
}

}  // namespace

TEST(Instances, SplitMergeMissAndSpuriousGiveExpectedCountsAndPq) {
  Volume ref = grid(4, 20, 60), pred = grid(4, 20, 60);
  box(ref, {0, 0, 0}, {4, 8, 8}, 1);     // A: matched exactly
  box(pred, {0, 0, 0}, {4, 8, 8}, 11);
  box(ref, {0, 0, 10}, {4, 8, 18}, 2);   // B: split in two halves
  box(pred, {0, 0, 10}, {4, 4, 18}, 12);
  box(pred, {0, 4, 10}, {4, 8, 18}, 13);
  box(ref, {0, 0, 20}, {4, 8, 24}, 3);   // C and D: merged by one prediction
  box(ref, {0, 0, 24}, {4, 8, 28}, 4);
  box(pred, {0, 0, 20}, {4, 8, 28}, 14);
  box(ref, {0, 10, 40}, {4, 16, 46}, 5);  // E: missed
  box(pred, {0, 10, 50}, {4, 16, 56}, 15);  // F: spurious
  const auto s = vm::evaluate_instances(pred, ref, 2);
  EXPECT_EQ(s.n_ref, 5);
  EXPECT_EQ(s.n_pred, 5);
  EXPECT_EQ(s.tp, 1);
  EXPECT_EQ(s.fp, 4);
  EXPECT_EQ(s.fn, 4);
  EXPECT_EQ(s.split, 1);
  EXPECT_EQ(s.merged, 1);
  EXPECT_DOUBLE_EQ(*s.f1, 2.0 / 10.0);
  EXPECT_DOUBLE_EQ(*s.precision, 0.2);
  EXPECT_DOUBLE_EQ(*s.recall, 0.2);
  EXPECT_DOUBLE_EQ(*s.mean_matched_iou, 1.0);
  EXPECT_DOUBLE_EQ(*s.pq, 0.2);
}

TEST(Instances, PartialOverlapAboveHalfMatchesWithItsIou) {
  Volume ref = grid(1, 10, 10), pred = grid(1, 10, 10);
  box(ref, {0, 0, 0}, {1, 10, 4}, 7);   // 40 voxels
  box(pred, {0, 0, 1}, {1, 10, 4}, 3);  // 30 voxels inside: IoU 0.75
  const auto s = vm::evaluate_instances(pred, ref, 1);
  EXPECT_EQ(s.tp, 1);
  EXPECT_DOUBLE_EQ(*s.mean_matched_iou, 0.75);
  EXPECT_DOUBLE_EQ(*s.pq, 0.75);
  const auto empty = vm::evaluate_instances(grid(1, 10, 10), grid(1, 10, 10), 1);
  EXPECT_FALSE(empty.f1.has_value());
  EXPECT_FALSE(empty.pq.has_value());
}

TEST(LabelTables, ColoursAndModalityHintForTheReport) {
  const auto model = write_temp("model_ct.json", R"({"channels": [{"name": "image", "normalization": {"scheme": "ct"}}],
      "labels": [{"id": 1, "name": "liver", "color": [221, 130, 101]}, {"id": 2, "name": "spleen"}]})");
  const auto phantom =
      write_temp("phantom_mr.json", R"({"kind": "mr-brain", "labels": [{"id": 4, "name": "lesion"}]})");
  const auto cells = write_temp("phantom_cells.json", R"({"kind": "cells", "labels": [{"id": 1, "name": "nucleus"}]})");
  const auto dataset =
      write_temp("dataset_ct.json", R"({"channel_names": {"0": "CT"}, "labels": {"background": 0, "liver": 1}})");
  const auto plain = write_temp("plain.json", R"({"labels": {"1": "liver"}})");
  const auto bad = write_temp("bad_colour.json", R"({"labels": [{"id": 1, "name": "liver", "color": [0, 300, 0]}]})");
  const auto m = vm::read_label_info(model.string());
  EXPECT_EQ(m.modality, "CT");
  EXPECT_EQ(m.colours, (std::map<int64_t, std::array<uint8_t, 3>>{{1, {221, 130, 101}}}));
  EXPECT_EQ(vm::read_label_info(phantom.string()).modality, "MR");
  EXPECT_EQ(vm::read_label_info(cells.string()).modality, "cells");  // not CT: percentiles
  EXPECT_EQ(vm::read_label_info(dataset.string()).modality, "CT");
  EXPECT_EQ(vm::read_label_info(plain.string()).modality, "");  // unknown: decided by intensities
  try {
    vm::read_label_info(bad.string());
    FAIL() << "no error";
  } catch (const voxseg::Error& e) {
    EXPECT_EQ(e.code(), voxseg::ExitCode::BadInput);
    EXPECT_NE(std::string(e.what()).find("labels[0].color[1]"), std::string::npos) << e.what();
  }
  for (const auto& p : {model, phantom, cells, dataset, plain, bad}) fs::remove(p);
}

TEST(LabelTables, ReadsModelDatasetAndPhantomShapes) {
  const auto model = write_temp("model.json", R"({"labels": [{"id": 0, "name": "background"}, {"id": 1, "name": "liver"}, {"id": 2, "name": "spleen", "color": [1,2,3]}]})");
  const auto dataset = write_temp("dataset.json", R"({"labels": {"background": 0, "liver": 1, "tumour": 2}, "numTraining": 3})");
  const auto phantom = write_temp("phantom.json", R"({"label_table": [{"id": 3, "name": "kidney"}]})");
  const auto bad = write_temp("bad.json", R"({"nothing": 1})");
  EXPECT_EQ(vm::read_label_table(model.string()), (std::map<int64_t, std::string>{{1, "liver"}, {2, "spleen"}}));
  EXPECT_EQ(vm::read_label_table(dataset.string()), (std::map<int64_t, std::string>{{1, "liver"}, {2, "tumour"}}));
  EXPECT_EQ(vm::read_label_table(phantom.string()), (std::map<int64_t, std::string>{{3, "kidney"}}));
  try {
    vm::read_label_table(bad.string());
    FAIL() << "no error";
  } catch (const voxseg::Error& e) {
    EXPECT_EQ(e.code(), voxseg::ExitCode::BadInput);
    EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos);
  }
  for (const auto& p : {model, dataset, phantom, bad}) fs::remove(p);
}

TEST(LabelTables, ParsesLabelListsRegionsAndTolerances) {
  EXPECT_EQ(vm::parse_label_list("1,2,5"), (std::vector<int64_t>{1, 2, 5}));
  EXPECT_EQ(vm::parse_label_list("3-5,9"), (std::vector<int64_t>{3, 4, 5, 9}));
  const auto r = vm::parse_regions("liver=1,6;kidneys=2,3");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].name, "liver");
  EXPECT_EQ(r[0].values, (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(r[1].values, (std::vector<int64_t>{2, 3}));
  EXPECT_THROW(vm::parse_label_list("1,x"), voxseg::Error);
  EXPECT_THROW(vm::parse_label_list("0"), voxseg::Error);
  EXPECT_THROW(vm::parse_regions("liver"), voxseg::Error);
  EXPECT_EQ(vm::parse_tolerances("1=2,liver=3.5"), (std::map<std::string, double>{{"1", 2.0}, {"liver", 3.5}}));
}

TEST(Resample, NearestNeighbourFollowsPhysicalSpace) {
  Volume src = grid(4, 4, 8);
  src.geometry.spacing = {1, 1, 1};
  box(src, {0, 0, 2}, {4, 4, 3}, 5);  // x index 2 -> physical x 2 mm
  voxseg::Geometry target = src.geometry;
  target.size = {16, 4, 4};
  target.spacing = {0.5, 1, 1};
  target.origin = {0.25, 0, 0};  // x index i -> 0.25 + 0.5 i mm
  const Volume out = vm::resample_nearest(src, target);
  ASSERT_EQ(out.data.size(2), 16);
  EXPECT_EQ(out.data.scalar_type(), at::kShort);
  const auto* d = out.data.data_ptr<int16_t>();
  for (int64_t x = 0; x < 16; ++x) {
    const double px = 0.25 + 0.5 * double(x);
    EXPECT_EQ(d[x], std::lround(px) == 2 ? 5 : 0) << "x " << x;
  }
  // Flipped direction: physical x = -i; everything lands outside the source (which covers x >= 0) except i = 0.
  voxseg::Geometry flipped = src.geometry;
  flipped.direction = {-1, 0, 0, 0, 1, 0, 0, 0, 1};
  flipped.origin = {2, 0, 0};
  const auto f = vm::resample_nearest(src, flipped);
  EXPECT_EQ(f.data.data_ptr<int16_t>()[0], 5);
  EXPECT_EQ(f.data.data_ptr<int16_t>()[1], 0);
}

TEST(Png, EncodesAValidFileWithCorrectCrcAndPixels) {
  std::vector<uint8_t> rgb{255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
  const std::string png = vm::encode_png_rgb(rgb, 2, 2);
  ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // Walk the chunks, checking each CRC, and inflate IDAT.
  size_t pos = 8;
  std::string idat;
  std::vector<std::string> types;
  while (pos < png.size()) {
    auto u32 = [&](size_t at) {
      return uint32_t(uint8_t(png[at])) << 24 | uint32_t(uint8_t(png[at + 1])) << 16 | uint32_t(uint8_t(png[at + 2])) << 8 |
             uint32_t(uint8_t(png[at + 3]));
    };
    const uint32_t len = u32(pos);
    const std::string type = png.substr(pos + 4, 4);
    types.push_back(type);
    const uint32_t crc = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(png.data() + pos + 4), len + 4));
    EXPECT_EQ(crc, u32(pos + 8 + len)) << type;
    if (type == "IDAT") idat += png.substr(pos + 8, len);
    pos += 12 + len;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  std::vector<uint8_t> raw(2 * (1 + 6));
  uLongf n = uLongf(raw.size());
  ASSERT_EQ(uncompress(raw.data(), &n, reinterpret_cast<const Bytef*>(idat.data()), uLong(idat.size())), Z_OK);
  EXPECT_EQ(raw, (std::vector<uint8_t>{0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 10, 20, 30}));
  EXPECT_EQ(vm::base64_encode("Man"), "TWFu");
  EXPECT_EQ(vm::base64_encode("Ma"), "TWE=");
  EXPECT_EQ(vm::base64_encode("M"), "TQ==");
}

// Label tables in voxseg's schema are read strictly: a misspelt key in an entry is named.
TEST(LabelTables, MisspeltEntryKeysAndNonIntegerIdsAreRefused) {
  const auto typo = write_temp("typo.json", R"({"labels": [{"id": 0, "name": "background"}, {"id": 1, "nmae": "liver"}]})");
  const auto fraction = write_temp("fraction.json", R"({"label_table": [{"id": 1.5, "name": "liver"}]})");
  for (const auto& [file, field] : {std::pair{typo, std::string("labels[1].nmae")}, {fraction, std::string("label_table[0].id")}}) {
    try {
      vm::read_label_table(file.string());
      ADD_FAILURE() << "no error for " << file;
    } catch (const voxseg::Error& e) {
      EXPECT_EQ(e.code(), voxseg::ExitCode::BadInput);
      EXPECT_NE(std::string(e.what()).find("field '" + field + "'"), std::string::npos) << e.what();
    }
    fs::remove(file);
  }
}
