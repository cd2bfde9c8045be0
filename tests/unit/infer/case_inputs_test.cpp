#include "voxseg/infer/case_inputs.h"

#include <gtest/gtest.h>

#include "voxseg/core/error.h"

using voxseg::infer::group_channel_files;
using voxseg::io::CaseInput;

TEST(CaseInputs, GroupsNnUNetChannelFilesInOrder) {
  const std::vector<CaseInput> in{{"b_0001", "b1"}, {"a_0000", "a0"}, {"b_0000", "b0"}, {"a_0001", "a1"},
                                  {"vec", "v"}};
  const auto cases = group_channel_files(in, 2);
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0].name, "b");
  EXPECT_EQ(cases[0].paths, (std::vector<std::string>{"b0", "b1"}));
  EXPECT_EQ(cases[1].name, "a");
  EXPECT_EQ(cases[1].paths, (std::vector<std::string>{"a0", "a1"}));
  EXPECT_EQ(cases[2].name, "vec");  // a single multi-channel file
  EXPECT_TRUE(cases[2].error.empty());
}

TEST(CaseInputs, MissingChannelFailsOnlyThatCase) {
  const auto cases = group_channel_files({{"a_0000", "a0"}, {"c_0000", "c0"}, {"c_0001", "c1"}}, 2);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_NE(cases[0].error.find("a_0001 is missing"), std::string::npos);
  EXPECT_TRUE(cases[1].error.empty());
  EXPECT_THROW(voxseg::infer::read_case(cases[0]), voxseg::Error);
}

TEST(CaseInputs, SingleChannelDropsTheChannelSuffix) {
  const auto cases = group_channel_files({{"ct_0000", "x"}, {"plain", "y"}, {"ct_0003", "z"}}, 1);
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0].name, "ct");
  EXPECT_EQ(cases[1].name, "plain");
  EXPECT_EQ(cases[2].name, "ct_0003");
}
