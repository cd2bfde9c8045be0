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

TEST(CaseInputs, TwoInputsMakingOneCaseAreRefused) {
  // "ct_0000" loses its suffix for a one-channel model and then collides with "ct".
  try {
    group_channel_files({{"ct_0000", "a/ct_0000.nii.gz"}, {"ct", "a/ct.nii.gz"}}, 1);
    FAIL() << "collision not refused";
  } catch (const voxseg::Error& e) {
    EXPECT_EQ(e.code(), voxseg::ExitCode::Usage);
    EXPECT_NE(std::string(e.what()).find("a/ct.nii.gz"), std::string::npos) << e.what();
  }
  EXPECT_THROW(group_channel_files({{"p_0000", "x/p_0000"}, {"p_0000", "y/p_0000"}}, 2), voxseg::Error);
}

TEST(CaseInputs, AnUnlistedInputStaysACaseWithItsError) {
  const auto cases = group_channel_files({{"a_0000", "a0", ""}, {"gone_0001", "gone", "no such file"}}, 1);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_TRUE(cases[0].error.empty());
  EXPECT_EQ(cases[1].error, "no such file");
  const auto multi = group_channel_files({{"b_0000", "b0", ""}, {"b_0001", "b1", "no such file"}}, 2);
  ASSERT_EQ(multi.size(), 2u);  // the missing file is its own failed case; b lacks channel 1
  EXPECT_NE(multi[0].error.find("b_0001 is missing"), std::string::npos) << multi[0].error;
  EXPECT_EQ(multi[1].error, "no such file");
}
