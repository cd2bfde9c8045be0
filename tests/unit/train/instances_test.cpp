// The instance post-processing of cell models (lib/voxseg/postprocess/instances.h), tested here with
// the training targets it inverts.
#include "voxseg/postprocess/instances.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "voxseg/train/losses.h"

using voxseg::postprocess::instances_from_classes;

TEST(InstancesFromClasses, TouchingCellsAreSeparatedAndRegrown) {
  // Two touching boxes: their three-class target, then back to instances.
  auto inst = torch::zeros({6, 10, 16}, torch::kInt32);
  inst.slice(0, 1, 5).slice(1, 2, 8).slice(2, 1, 8).fill_(4);
  inst.slice(0, 1, 5).slice(1, 2, 8).slice(2, 8, 15).fill_(9);
  const auto target = voxseg::train::instance_target(inst);
  voxseg::postprocess::InstanceOptions o;
  o.min_size_voxels = 1;
  const auto back = instances_from_classes(target, o);
  EXPECT_EQ(back.max().item<int>(), 2);
  // Every foreground voxel recovered, each original cell maps to one id.
  EXPECT_TRUE(torch::equal(back > 0, inst > 0));
  const auto a = back.masked_select(inst == 4), b = back.masked_select(inst == 9);
  EXPECT_TRUE((a == a[0]).all().item<bool>());
  EXPECT_TRUE((b == b[0]).all().item<bool>());
  EXPECT_NE(a[0].item<int>(), b[0].item<int>());
}

TEST(InstancesFromClasses, SmallInstancesAreDropped) {
  auto cls = torch::zeros({3, 3, 12}, torch::kUInt8);
  cls[1][1][1] = 1;                   // a single interior voxel
  cls.slice(2, 5, 11).fill_(2);       // a boundary shell ...
  cls[1][1].slice(0, 6, 10).fill_(1);  // ... around a larger interior
  voxseg::postprocess::InstanceOptions o;
  o.min_size_voxels = 2;
  const auto out = instances_from_classes(cls, o);
  EXPECT_EQ(out[1][1][1].item<int>(), 0);
  EXPECT_EQ(out.max().item<int>(), 1);
  EXPECT_EQ((out == 1).sum().item<int64_t>(), 3 * 3 * 6);
}

TEST(InstanceOptions, ParsedFromTheBundle) {
  const auto o = voxseg::postprocess::parse_instance_options(
      voxseg::Json::parse(R"({"interior": 1, "boundary": 2, "min_size_voxels": 20})"));
  EXPECT_EQ(o.min_size_voxels, 20);
  EXPECT_THROW(voxseg::postprocess::parse_instance_options(voxseg::Json::parse(R"({"seeds": 1})")),
               std::invalid_argument);
}
