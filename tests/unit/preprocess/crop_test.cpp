#include "voxseg/preprocess/crop.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace voxseg::preprocess;

TEST(Crop, BoundingBoxOfAnyChannelNonZero) {
  at::Tensor d = torch::zeros({2, 5, 6, 7});
  d.index_put_({0, 1, 2, 3}, 1.0f);
  d.index_put_({1, 3, 4, 5}, -2.0f);
  const BoundingBox b = bounding_box(nonzero_mask(d));
  EXPECT_EQ(b.begin, (std::array<int64_t, 3>{1, 2, 3}));
  EXPECT_EQ(b.end, (std::array<int64_t, 3>{4, 5, 6}));
  EXPECT_EQ(crop(d, b).sizes(), (std::vector<int64_t>{2, 3, 3, 3}));
}

TEST(Crop, EmptyMaskKeepsTheWholeGrid) {
  const BoundingBox b = bounding_box(torch::zeros({3, 4, 5}, torch::kBool));
  EXPECT_EQ(b.end, (std::array<int64_t, 3>{3, 4, 5}));
}

namespace {
at::Tensor cube_with_hole() {
  at::Tensor m = torch::zeros({5, 5, 5}, torch::kBool);
  m.slice(0, 1, 4).slice(1, 1, 4).slice(2, 1, 4).fill_(true);
  m.index_put_({2, 2, 2}, false);  // the centre is enclosed
  return m;
}
}  // namespace

TEST(Crop, FillHolesFillsOnlyEnclosedBackground) {
  at::Tensor a = cube_with_hole();
  fill_holes(a, 6);
  EXPECT_TRUE(a[2][2][2].item<bool>());
  EXPECT_FALSE(a[0][0][0].item<bool>());

  at::Tensor b = cube_with_hole();
  b.index_put_({1, 2, 2}, false);  // a tunnel from the centre to the outside through a face
  fill_holes(b, 6);
  EXPECT_FALSE(b[2][2][2].item<bool>());
  EXPECT_FALSE(b[1][2][2].item<bool>());
}

TEST(Crop, FillHolesBackgroundConnectivity) {
  at::Tensor m = cube_with_hole();
  m.index_put_({1, 1, 1}, false);  // a corner voxel: touches the outside; the centre only diagonally
  at::Tensor six = m.clone(), full = m.clone();
  fill_holes(six, 6);
  fill_holes(full, 26);
  EXPECT_TRUE(six[2][2][2].item<bool>());
  EXPECT_FALSE(full[2][2][2].item<bool>());
}
