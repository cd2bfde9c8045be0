#include "voxseg/postprocess/components.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "voxseg/core/error.h"

using namespace voxseg::postprocess;

namespace {
// Two voxels touching only at a corner, one touching the first by an edge, one apart.
at::Tensor corner_mask() {
  at::Tensor m = torch::zeros({4, 4, 4}, torch::kByte);
  m.index_put_({0, 0, 0}, 1);
  m.index_put_({1, 1, 1}, 1);  // corner neighbour of (0,0,0)
  m.index_put_({1, 1, 0}, 0);
  m.index_put_({0, 1, 1}, 1);  // edge neighbour of (0,0,0), face neighbour of (1,1,1)
  m.index_put_({3, 3, 3}, 1);  // isolated
  return m;
}
}  // namespace

TEST(Components, ConnectivityTable) {
  at::Tensor m = torch::zeros({3, 3, 3}, torch::kByte);
  m.index_put_({0, 0, 0}, 1);
  m.index_put_({1, 1, 1}, 1);  // corner only
  m.index_put_({2, 2, 1}, 1);  // edge neighbour of (1,1,1)
  EXPECT_EQ(connected_components(m, 6).count(), 3);
  EXPECT_EQ(connected_components(m, 18).count(), 2);
  EXPECT_EQ(connected_components(m, 26).count(), 1);
  EXPECT_EQ(connected_components(corner_mask(), 6).count(), 3);
  EXPECT_EQ(connected_components(corner_mask(), 26).count(), 2);
  EXPECT_THROW(connected_components(m, 5), voxseg::Error);
}

TEST(Components, SizesLabelsAndRasterOrder) {
  at::Tensor m = torch::zeros({1, 5, 6}, torch::kInt);
  m.slice(1, 0, 2).slice(2, 0, 2).fill_(2);  // 4 voxels of label 2
  m.slice(1, 0, 2).slice(2, 2, 3).fill_(3);  // touching label 3: a different component
  m.slice(1, 4, 5).fill_(2);                 // 6 voxels of label 2, apart
  const Components c = connected_components(m, 26);  // 2D: 8-connectivity
  ASSERT_EQ(c.count(), 3);
  EXPECT_EQ(c.label, (std::vector<int64_t>{2, 3, 2}));
  EXPECT_EQ(c.voxels, (std::vector<int64_t>{4, 2, 6}));
  EXPECT_EQ(c.ids[0][0][0].item<int>(), 1);
  EXPECT_EQ(c.ids[0][4][5].item<int>(), 3);
}

TEST(Postprocess, LargestComponentPerLabel) {
  at::Tensor m = torch::zeros({6, 6, 6}, torch::kByte);
  m.slice(0, 0, 2).slice(1, 0, 2).slice(2, 0, 2).fill_(1);  // 8 voxels label 1
  m.index_put_({5, 5, 5}, 1);                               // 1 voxel label 1
  m.index_put_({5, 0, 5}, 2);                               // label 2: single component, kept
  Options o;
  o.largest_component = true;
  const voxseg::Json r = apply(m, 1.0, o);
  EXPECT_EQ(m.eq(1).sum().item<int64_t>(), 8);
  EXPECT_EQ(m[5][5][5].item<int>(), 0);
  EXPECT_EQ(m[5][0][5].item<int>(), 2);
  EXPECT_EQ(r.find("removed_voxels")->as_int(), 1);
}

TEST(Postprocess, MinSizeInMillilitresUsesTheVoxelVolume) {
  at::Tensor m = torch::zeros({6, 6, 6}, torch::kByte);
  m.slice(0, 0, 2).slice(1, 0, 2).slice(2, 0, 2).fill_(1);  // 8 voxels
  m.slice(0, 4, 6).slice(1, 4, 6).slice(2, 4, 5).fill_(1);  // 4 voxels
  Options o;
  o.min_size_ml = 0.5;          // 500 mm^3
  at::Tensor a = m.clone();
  apply(a, 100.0, o);           // 8 voxels = 800 mm^3 kept, 4 = 400 removed
  EXPECT_EQ(a.sum().item<int64_t>(), 8);
  at::Tensor b = m.clone();
  apply(b, 200.0, o);           // both >= 500 mm^3
  EXPECT_EQ(b.sum().item<int64_t>(), 12);
}

TEST(Postprocess, FillHolesOnlyWhereOneLabelEncloses) {
  at::Tensor m = torch::zeros({7, 7, 7}, torch::kByte);
  m.slice(0, 1, 6).slice(1, 1, 6).slice(2, 1, 6).fill_(1);
  m.slice(0, 2, 5).slice(1, 2, 5).slice(2, 2, 5).fill_(0);  // 27-voxel cavity enclosed by label 1
  at::Tensor mixed = m.clone();
  mixed.index_put_({1, 3, 3}, 2);  // part of the wall is label 2: the cavity touches two labels
  Options o;
  o.fill_holes = true;
  const voxseg::Json r = apply(m, 1.0, o);
  EXPECT_EQ(m[3][3][3].item<int>(), 1);
  EXPECT_EQ(r.find("filled_voxels")->as_int(), 27);
  EXPECT_EQ(m[0][0][0].item<int>(), 0);
  apply(mixed, 1.0, o);
  EXPECT_EQ(mixed[3][3][3].item<int>(), 0);
}

TEST(Postprocess, FillHolesIn2DUsesThePlane) {
  at::Tensor m = torch::zeros({1, 5, 5}, torch::kByte);
  m.slice(1, 1, 4).slice(2, 1, 4).fill_(3);
  m.index_put_({0, 2, 2}, 0);
  fill_holes(m, 4);
  EXPECT_EQ(m[0][2][2].item<int>(), 3);
}
