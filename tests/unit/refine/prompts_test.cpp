// Prompts: boxes from label maps (exact), command-line boxes and points, the JSON schema's strictness.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "../shared_test_support.h"
#include "voxseg/refine/prompts.h"

namespace fs = std::filesystem;
using namespace voxseg;
using namespace voxseg::refine;

namespace {
std::vector<std::array<double, 6>> boxes_of(const PromptSet& set) {  // slice, label, x0, y0, x1, y1
  std::vector<std::array<double, 6>> out;
  for (const auto& p : set.prompts)
    out.push_back({double(p.slice), double(p.label), p.box->x0, p.box->y0, p.box->x1, p.box->y1});
  return out;
}
}  // namespace

TEST(PromptsFromLabels, OneBoxPerComponentPerSliceWithMarginClippedToTheSlice) {
  at::Tensor labels = torch::zeros({3, 10, 12}, torch::kShort);
  labels[0].slice(0, 2, 4).slice(1, 3, 6).fill_(1);  // rows 2..3, cols 3..5
  labels[0].slice(0, 7, 10).slice(1, 0, 2).fill_(1);  // second component of 1, at the corner
  labels[0].slice(0, 5, 6).slice(1, 8, 12).fill_(2);  // label 2
  labels[2][9][11] = 1;                               // a single voxel
  labels[2][8][10] = 1;                               // diagonal neighbour: same component (8-connected)
  const PromptSet set = prompts_from_labels(labels, Axis::Z, 1);
  const std::vector<std::array<double, 6>> expected{
      {0, 1, 2, 1, 6, 4}, {0, 1, 0, 6, 2, 9}, {0, 2, 7, 4, 11, 6}, {2, 1, 9, 7, 11, 9}};
  EXPECT_EQ(boxes_of(set), expected);
}

TEST(PromptsFromLabels, OtherAxesSliceAcrossYAndX) {
  at::Tensor labels = torch::zeros({4, 5, 6}, torch::kShort);
  labels.slice(0, 1, 3).select(1, 2).slice(1, 2, 5).fill_(3);  // z 1..2, y 2, x 2..4
  const auto y = boxes_of(prompts_from_labels(labels, Axis::Y, 0));  // slice [Z,X]: x = column, y = z
  EXPECT_EQ(y, (std::vector<std::array<double, 6>>{{2, 3, 2, 1, 4, 2}}));
  const auto x = boxes_of(prompts_from_labels(labels, Axis::X, 0));  // slice [Z,Y]: one box per x
  ASSERT_EQ(x.size(), 3u);
  EXPECT_EQ(x[0], (std::array<double, 6>{2, 3, 2, 1, 2, 2}));
}

TEST(PromptsFromCli, ThreeDBoxExpandsToItsSlicesAndErrorsAreUsage) {
  const std::array<int64_t, 3> size{20, 10, 8};
  const PromptSet set = prompts_from_cli({parse_box("1,2,5,6,3,5")}, {parse_point("2,3,4:0")}, size, false);
  ASSERT_EQ(set.prompts.size(), 3u);
  EXPECT_EQ(set.prompts[0].slice, 3);
  EXPECT_EQ(set.prompts[2].slice, 5);
  EXPECT_EQ(set.prompts[1].points.size(), 1u);
  EXPECT_FALSE(set.prompts[1].points[0].positive);
  const auto code = [&](const std::string& box, bool is_2d) {
    return test_support::capture_error([&] { prompts_from_cli({parse_box(box)}, {}, size, is_2d); }).code();
  };
  EXPECT_EQ(code("1,2,20,6,3,5", false), ExitCode::Usage);  // x1 outside
  EXPECT_EQ(code("5,2,1,6,3,5", false), ExitCode::Usage);   // empty
  EXPECT_EQ(code("1,2,5,6,3,8", false), ExitCode::Usage);   // z outside
  EXPECT_EQ(code("1,2,5,6", false), ExitCode::Usage);       // 2D box on a volume
  const std::array<int64_t, 3> flat{20, 10, 1};
  EXPECT_EQ(test_support::capture_error([&] { prompts_from_cli({parse_box("1,2,5,6,0,0")}, {}, flat, true); }).code(),
            ExitCode::Usage);  // 3D box on a 2D image
  EXPECT_EQ(test_support::capture_error([] { parse_box("1,2,x,4"); }).code(), ExitCode::Usage);
  EXPECT_EQ(test_support::capture_error([] { parse_point("1,2"); }).code(), ExitCode::Usage);
}

TEST(PromptsFromJson, ReadsVoxelAndMmBoxesAndRejectsUnknownKeys) {
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "voxseg-prompts");
  Geometry g;
  g.size = {20, 10, 8};
  g.spacing = {2, 2, 5};
  g.origin = {-10, 0, 100};
  std::ofstream(dir / "p.json") << R"({"coordinates": "mm", "labels": [
      {"label": 4, "boxes": [[-8, 2, 0, 6, 110, 120]], "points": [{"position": [-6, 4, 115], "positive": false}]}]})";
  const PromptSet set = prompts_from_json(dir / "p.json", g, false);
  ASSERT_EQ(set.prompts.size(), 3u);  // slices 2..4
  EXPECT_EQ(set.prompts[0].slice, 2);
  EXPECT_EQ(set.prompts[0].label, 4);
  EXPECT_EQ(set.prompts[0].box->x0, 1);
  EXPECT_EQ(set.prompts[0].box->x1, 5);
  EXPECT_EQ(set.prompts[0].box->y1, 3);
  EXPECT_EQ(set.prompts[1].points.size(), 1u);  // slice 3 = z 115 mm
  EXPECT_EQ(set.prompts[1].points[0].x, 2);

  std::ofstream(dir / "bad.json") << R"({"labels": [{"label": 1, "boxes": [[1, 2, 3, 4, 0, 1]]}, {"label": 2, "boxx": []}]})";
  const Error e = test_support::capture_error([&] { prompts_from_json(dir / "bad.json", g, false); });
  EXPECT_EQ(e.code(), ExitCode::Usage);
  EXPECT_NE(std::string(e.what()).find("labels[1].boxx: unknown key"), std::string::npos) << e.what();
  std::ofstream(dir / "broken.json") << R"({"labels": [)";
  EXPECT_EQ(test_support::capture_error([&] { prompts_from_json(dir / "broken.json", g, false); }).code(),
            ExitCode::BadInput);
}
