#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "../shared_test_support.h"
#include "voxseg/core/error.h"
#include "voxseg/io/dicom_seg.h"
#include "voxseg/io/seg_labels.h"

namespace fs = std::filesystem;
using namespace voxseg;

namespace {

fs::path write_file(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("voxseg-seg-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / name) << text;
  return dir / name;
}

// The message of the voxseg::Error that f throws (the test fails when it throws none).
std::string error_of(const std::function<void()>& f) { return voxseg::test_support::capture_error(f).what(); }

Volume labels_volume() {
  Volume v;
  v.data = at::arange(2 * 3 * 4, at::kInt).reshape({2, 3, 4}).remainder(5);
  v.geometry.size = {4, 3, 2};
  v.geometry.spacing = {1.0, 2.0, 3.0};
  v.geometry.origin = {10, 20, 30};
  return v;
}

}  // namespace

TEST(SegLabels, WellKnownNamesGetSnomedCodes) {
  EXPECT_EQ(io::default_segment(1, "liver").type.code, "10200004");
  EXPECT_EQ(io::default_segment(1, "Liver").category.code, "91723000");
  EXPECT_EQ(io::default_segment(2, "kidney").type.code, "64033007");
  EXPECT_EQ(io::default_segment(3, "kidney_left").type.code, "18639004");
  EXPECT_EQ(io::default_segment(3, "Right Kidney").type.code, "9846003");
  EXPECT_EQ(io::default_segment(4, "spleen").type.code, "78961009");
  const io::SegmentInfo tumor = io::default_segment(5, "liver_tumor");
  EXPECT_EQ(tumor.type.code, "108369006");
  EXPECT_EQ(tumor.category.code, "49755003");
  ASSERT_TRUE(tumor.anatomic_region);
  EXPECT_EQ(tumor.anatomic_region->code, "10200004");
  const io::SegmentInfo unknown = io::default_segment(7, "");
  EXPECT_EQ(unknown.name, "label 7");
  EXPECT_EQ(unknown.type.code, "85756007");  // generic Tissue
  EXPECT_TRUE(unknown.color.has_value());
  // An explicit code wins over the table.
  EXPECT_EQ(io::default_segment(1, "liver", std::nullopt, CodedConcept{"123", "SCT", "X"}).type.code, "123");
}

TEST(SegLabels, CieLabRoundTrip) {
  for (const std::array<int, 3> rgb : {std::array<int, 3>{221, 130, 101}, {0, 0, 0}, {255, 255, 255}, {12, 200, 77}})
    EXPECT_EQ(io::dicom_lab_to_rgb(io::rgb_to_dicom_lab(rgb)), rgb);
  const auto white = io::rgb_to_dicom_lab({255, 255, 255});
  EXPECT_EQ(white[0], 65535);
  EXPECT_NEAR(white[1], 32896, 2);  // a* = 0
}

TEST(SegLabels, ReadsModelPhantomAndNnunetTables) {
  const auto model = io::read_seg_label_table(write_file(
      "model.json", R"({"name": "m", "labels": [{"id": 0, "name": "background"}, {"id": 2, "name": "organ",
        "color": [1, 2, 3], "snomed": {"code": "78961009", "meaning": "Spleen"}}]})"));
  ASSERT_EQ(model.size(), 1u);
  EXPECT_EQ(model[0].label, 2);
  EXPECT_EQ(model[0].type.code, "78961009");
  EXPECT_EQ(model[0].type.scheme, "SCT");
  EXPECT_EQ(*model[0].color, (std::array<int, 3>{1, 2, 3}));
  const auto nnunet =
      io::read_seg_label_table(write_file("dataset.json", R"({"labels": {"background": 0, "liver": 1, "tumor": [1, 2]}})"));
  ASSERT_EQ(nnunet.size(), 1u);
  EXPECT_EQ(nnunet[0].name, "liver");
  const auto plain = io::read_seg_label_table(write_file("plain.json", R"({"labels": {"3": "spleen"}})"));
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].label, 3);
}

TEST(SegLabels, StrictAboutUnknownKeysAndBadValues) {
  EXPECT_NE(error_of([] {
              io::read_seg_label_table(write_file("a.json", R"({"labels": [{"id": 1, "name": "x", "colour": [1,2,3]}]})"));
            }).find("a.json: labels[0].colour: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              io::read_seg_label_table(write_file("b.json", R"({"labels": [{"id": 1, "name": "x", "color": [1,2,300]}]})"));
            }).find("labels[0].color[2]: expected an integer 0..255"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              io::read_seg_label_table(
                  write_file("c.json", R"({"labels": [{"id": 1, "name": "x", "snomed": {"code": "1", "meaning": "m", "sys": "y"}}]})"));
            }).find("labels[0].snomed.sys: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              io::read_seg_label_table(write_file("d.json", R"({"labels": [{"id": 1, "name": "x"}, {"id": 1, "name": "y"}]})"));
            }).find("listed twice"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::read_seg_label_table(write_file("e.json", R"({"other": 1})")); }).find("no label table"),
            std::string::npos);
}

TEST(SegGrid, SameGridFlippedPermutedAndResampled) {
  const Volume v = labels_volume();
  EXPECT_TRUE(at::equal(io::labels_on_grid(v, v.geometry, false, "x"), v.data));
  // The same voxels with x reversed: direction column -x, origin at the last x voxel.
  Volume flipped = v;
  flipped.data = v.data.flip({2});
  flipped.geometry.direction = {-1, 0, 0, 0, 1, 0, 0, 0, 1};
  flipped.geometry.origin = {13, 20, 30};
  EXPECT_TRUE(at::equal(io::labels_on_grid(flipped, v.geometry, false, "x"), v.data));
  // x and y swapped.
  Volume swapped = v;
  swapped.data = v.data.permute({0, 2, 1}).contiguous();
  swapped.geometry.size = {3, 4, 2};
  swapped.geometry.spacing = {2.0, 1.0, 3.0};
  swapped.geometry.direction = {0, 1, 0, 1, 0, 0, 0, 0, 1};
  EXPECT_TRUE(at::equal(io::labels_on_grid(swapped, v.geometry, false, "x"), v.data));
  // Shifted by one voxel along x: refused, or resampled by nearest neighbour.
  Volume shifted = v;
  shifted.geometry.origin = {11, 20, 30};
  EXPECT_NE(error_of([&] { io::labels_on_grid(shifted, v.geometry, false, "the label map"); })
                .find("the label map is not on the grid of the reference series (origin"),
            std::string::npos);
  const at::Tensor r = io::labels_on_grid(shifted, v.geometry, true, "x");
  EXPECT_TRUE(at::equal(r.select(2, 0), at::zeros({2, 3}, at::kInt)));
  EXPECT_TRUE(at::equal(r.narrow(2, 1, 3), v.data.narrow(2, 0, 3)));
}

TEST(SegGrid, LabelMapHeuristic) {
  Volume v = labels_volume();
  v.data = at::zeros({4, 4, 4}, at::kByte);
  v.data[0][0][0] = 3;
  EXPECT_TRUE(io::looks_like_label_map(v));
  v.data = at::arange(64, at::kShort).reshape({4, 4, 4});  // one voxel per value: an image
  EXPECT_FALSE(io::looks_like_label_map(v));
  v.data = at::zeros({4, 4, 4}, at::kFloat);
  EXPECT_FALSE(io::looks_like_label_map(v));
  v.data = at::full({4, 4, 4}, -1000, at::kShort);
  EXPECT_FALSE(io::looks_like_label_map(v));
}
