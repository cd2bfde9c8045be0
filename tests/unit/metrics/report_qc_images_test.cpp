// QC pictures: one window for the whole image (never a crop's own min/max), slices through the
// label's largest cross-section, and a whole-slice context view with the crop box.
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include "voxseg/metrics/report_qc_images.h"

namespace vm = voxseg::metrics;
using voxseg::Volume;

namespace {

struct Picture {
  int w = 0, h = 0;
  std::vector<uint8_t> rgb;
  std::array<uint8_t, 3> at(int x, int y) const {
    const size_t i = (size_t(y) * size_t(w) + size_t(x)) * 3;
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
  size_t count(const std::array<uint8_t, 3>& c) const {
    size_t n = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) n += at(x, y) == c;
    return n;
  }
};

// voxseg's PNGs: IHDR, one IDAT, filter 0 on every row.
Picture decode(const std::string& png) {
  auto u32 = [&](size_t at) {
    return uint32_t(uint8_t(png[at])) << 24 | uint32_t(uint8_t(png[at + 1])) << 16 |
           uint32_t(uint8_t(png[at + 2])) << 8 | uint32_t(uint8_t(png[at + 3]));
  };
  Picture p;
  std::string idat;
  for (size_t pos = 8; pos < png.size(); pos += 12 + u32(pos)) {
    const std::string type = png.substr(pos + 4, 4);
    if (type == "IHDR") p.w = int(u32(pos + 8)), p.h = int(u32(pos + 12));
    if (type == "IDAT") idat += png.substr(pos + 8, u32(pos));
  }
  std::vector<uint8_t> raw(size_t(p.h) * (1 + size_t(p.w) * 3));
  uLongf n = uLongf(raw.size());
  EXPECT_EQ(uncompress(raw.data(), &n, reinterpret_cast<const Bytef*>(idat.data()), uLong(idat.size())), Z_OK);
  for (int y = 0; y < p.h; ++y)
    p.rgb.insert(p.rgb.end(), raw.begin() + long(y * (1 + p.w * 3) + 1), raw.begin() + long((y + 1) * (1 + p.w * 3)));
  return p;
}

Volume volume(at::ScalarType type) {
  Volume v;
  v.data = at::zeros({20, 40, 40}, type);
  v.geometry.size = {40, 40, 20};
  return v;
}

// Box [lo, hi) in z, y, x set to value.
template <typename T>
void fill(Volume& v, std::array<int64_t, 3> lo, std::array<int64_t, 3> hi, T value) {
  T* d = v.data.data_ptr<T>();
  for (int64_t z = lo[0]; z < hi[0]; ++z)
    for (int64_t y = lo[1]; y < hi[1]; ++y)
      for (int64_t x = lo[2]; x < hi[2]; ++x) d[(z * 40 + y) * 40 + x] = value;
}

}  // namespace

TEST(QcImages, EveryCropUsesTheOneWindowOfTheImage) {
  // A dim label (intensity 100) and a bright one (1000) on 0: with a crop's own min/max both would
  // be white inside; in the image's window 0..1000 the dim one is dark grey.
  Volume image = volume(at::kFloat), labels = volume(at::kShort);
  fill<float>(image, {4, 4, 4}, {12, 14, 14}, 100.f);
  fill<float>(image, {4, 24, 24}, {12, 34, 34}, 1000.f);
  fill<int16_t>(labels, {4, 4, 4}, {12, 14, 14}, 1);
  fill<int16_t>(labels, {4, 24, 24}, {12, 34, 34}, 2);
  const std::vector<vm::Region> regions{{"dim", {1}}, {"bright", {2}}};
  std::vector<vm::RegionScores> scores(2);
  scores[0].name = "dim", scores[0].bbox_lo = {4, 4, 4}, scores[0].bbox_hi = {11, 13, 13};
  scores[1].name = "bright", scores[1].bbox_lo = {4, 24, 24}, scores[1].bbox_hi = {11, 33, 33};
  vm::DisplayWindow window;
  window.level = 500, window.width = 1000;
  const auto panels = vm::render_qc_panels(&image, window, labels, labels, regions, scores, {});
  ASSERT_EQ(panels.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    const Picture axial = decode(panels[k].png[0]);
    const uint8_t inside = k == 0 ? 26 : 255;  // 100 / 1000 * 255 rounded; 1000 -> white
    const std::array<uint8_t, 3> centre = axial.at(axial.w / 2, axial.h / 2), corner = axial.at(0, 0);
    EXPECT_EQ(centre, (std::array<uint8_t, 3>{inside, inside, inside})) << panels[k].region;
    EXPECT_EQ(corner, (std::array<uint8_t, 3>{0, 0, 0})) << panels[k].region;
    EXPECT_GT(axial.count({240, 210, 30}), 20u) << "prediction = reference: contours coincide (yellow)";
  }
}

TEST(QcImages, ContextShowsTheWholeSliceWithTheCropBoxAndTheLabelInItsColour) {
  Volume image = volume(at::kFloat), labels = volume(at::kShort);
  fill<int16_t>(labels, {8, 30, 4}, {12, 36, 10}, 3);
  const std::vector<vm::Region> regions{{"kidney", {3}}};
  std::vector<vm::RegionScores> scores(1);
  scores[0].name = "kidney", scores[0].bbox_lo = {8, 30, 4}, scores[0].bbox_hi = {11, 35, 9};
  vm::DisplayWindow window;
  window.level = 0.5, window.width = 1;  // the image's 0 is black
  const vm::Rgb colour{200, 100, 0};
  const auto panels = vm::render_qc_panels(&image, window, labels, labels, regions, scores, {{"kidney", colour}});
  ASSERT_EQ(panels.size(), 1u);
  const Picture context = decode(panels[0].context[0]), crop = decode(panels[0].png[0]);
  EXPECT_EQ(context.w, context.h);  // the whole 40 x 40 axial slice, square
  EXPECT_LT(context.w, crop.w + crop.h);
  EXPECT_GT(context.count(vm::kCropBoxColour), 40u);
  EXPECT_GT(context.count({100, 50, 0}), 0u);  // the label: half its colour over black
  // The box sits at the label (lower left of the slice: high y, low x), not across the slice.
  EXPECT_NE(context.at(context.w / 8, context.h * 7 / 8), (std::array<uint8_t, 3>{0, 0, 0}));
  EXPECT_EQ(context.at(context.w * 7 / 8, context.h / 8), (std::array<uint8_t, 3>{0, 0, 0}));
}

TEST(QcImages, SlicesCrossTheLargestSectionNotTheMiddleOfTwoLesions) {
  // Two lesions at z 2..4 and z 14..16: the box's middle slice (z 9) holds neither.
  Volume labels = volume(at::kShort);
  fill<int16_t>(labels, {2, 10, 10}, {5, 14, 14}, 4);
  fill<int16_t>(labels, {14, 20, 20}, {17, 26, 26}, 4);
  const std::vector<vm::Region> regions{{"lesion", {4}}};
  std::vector<vm::RegionScores> scores(1);
  scores[0].name = "lesion", scores[0].bbox_lo = {2, 10, 10}, scores[0].bbox_hi = {16, 25, 25};
  const auto panels = vm::render_qc_panels(nullptr, vm::DisplayWindow{}, labels, labels, regions, scores, {});
  ASSERT_EQ(panels.size(), 1u);
  for (size_t v = 0; v < 3; ++v) EXPECT_GT(decode(panels[0].png[v]).count({240, 210, 30}), 0u) << "view " << v;
}
