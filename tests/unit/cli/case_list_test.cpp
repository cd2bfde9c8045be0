#include "../shared_test_support.h"
#include "voxseg/cli/case_list.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "voxseg/cli/batch.h"
#include "voxseg/core/error.h"

namespace fs = std::filesystem;
using voxseg::cli::Shard;

namespace {
voxseg::ExitCode code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const voxseg::Error& e) {
    return e.code();
  }
  return voxseg::ExitCode::Ok;
}

fs::path fresh_dir(const std::string& name) {
  return voxseg::test_support::fresh_dir(fs::temp_directory_path(), "voxseg-cli-test-" + name);
}
}  // namespace

TEST(Shard, ParsesIOfNAndRefusesTheRest) {
  EXPECT_FALSE(voxseg::cli::parse_shard("").active());
  const Shard s = voxseg::cli::parse_shard("2/8");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 8);
  for (const char* bad : {"0/4", "5/4", "2", "/4", "a/b", "2/0", "-1/4", "1/4/2"})
    EXPECT_EQ(code_of([&] { voxseg::cli::parse_shard(bad); }), voxseg::ExitCode::Usage) << bad;
}

TEST(Shard, ShardsAreDisjointCoverEveryNameAndIgnoreOrder) {
  std::vector<std::string> names;
  for (int i = 0; i < 23; ++i) names.push_back("case_" + std::to_string(i * 7 % 23));
  for (int n : {1, 2, 3, 5, 23, 30}) {
    std::multiset<std::string> all;
    size_t smallest = names.size(), largest = 0;
    for (int i = 1; i <= n; ++i) {
      auto reversed = names;
      std::reverse(reversed.begin(), reversed.end());
      const auto part = voxseg::cli::shard_names(names, {i, n});
      EXPECT_EQ(part, voxseg::cli::shard_names(reversed, {i, n})) << "order changed shard " << i << "/" << n;
      all.insert(part.begin(), part.end());
      smallest = std::min(smallest, part.size()), largest = std::max(largest, part.size());
    }
    EXPECT_EQ(all.size(), names.size()) << n;
    EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), names.size()) << n;
    EXPECT_LE(largest - smallest, 1u) << n;
  }
}

TEST(Shard, RuleIsSortedPositionModuloN) {
  // sorted: a b c d e; the k-th (from 0) goes to shard k mod 2 + 1.
  EXPECT_EQ(voxseg::cli::shard_names({"e", "c", "a", "d", "b"}, {1, 2}), (std::set<std::string>{"a", "c", "e"}));
  EXPECT_EQ(voxseg::cli::shard_names({"e", "c", "a", "d", "b"}, {2, 2}), (std::set<std::string>{"b", "d"}));
}

TEST(Shard, SelectShardSplitsSeveralListsTogetherKeepingOrder) {
  struct Item {
    std::string name;
  };
  std::vector<Item> items{{"d"}, {"a"}, {"b"}};
  std::vector<std::pair<std::string, std::string>> unmatched{{"c", "no reference"}};
  voxseg::cli::select_shard({1, 2}, items, unmatched);  // sorted a b c d: shard 1 = a, c
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].name, "a");
  ASSERT_EQ(unmatched.size(), 1u);
  std::vector<Item> all{{"d"}, {"a"}, {"b"}};
  voxseg::cli::select_shard({}, all);
  EXPECT_EQ(all.size(), 3u);
}

TEST(CaseList, CollidingNamesAreRefusedBeforeAnyWorkAndPathNamesSeparateThem) {
  const fs::path dir = fresh_dir("studies");
  fs::create_directories(dir / "p1");
  fs::create_directories(dir / "p2" / "x");
  for (const auto& p : {dir / "p1" / "ct.nii.gz", dir / "p2" / "x" / "ct.nii.gz"}) std::ofstream(p) << "x";
  const std::vector<std::string> inputs{(dir / "p1" / "ct.nii.gz").string(), (dir / "p2" / "x" / "ct.nii.gz").string()};
  voxseg::cli::CaseListOptions o;
  try {
    voxseg::cli::list_cases(inputs, o);
    FAIL() << "collision not refused";
  } catch (const voxseg::Error& e) {
    EXPECT_EQ(e.code(), voxseg::ExitCode::Usage);
    EXPECT_NE(std::string(e.what()).find("p1/ct.nii.gz"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--names path"), std::string::npos) << e.what();
  }
  o.names = voxseg::io::CaseNames::Path;
  const auto cases = voxseg::cli::list_cases(inputs, o);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].name, "p1/ct");
  EXPECT_EQ(cases[1].name, "p2/x/ct");
}

TEST(CaseList, MissingPathBecomesAFailedCaseOfItsOwn) {
  const fs::path dir = fresh_dir("missing");
  std::ofstream(dir / "a.nii.gz") << "x";
  const auto cases = voxseg::cli::list_cases({(dir / "a.nii.gz").string(), (dir / "gone.nrrd").string()}, {});
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_TRUE(cases[0].error.empty());
  EXPECT_EQ(cases[1].name, "gone");
  EXPECT_NE(cases[1].error.find("gone.nrrd"), std::string::npos) << cases[1].error;
}

TEST(Batch, DurationsReadLikeAClock) {
  EXPECT_EQ(voxseg::cli::format_duration(4.21), "4.2 s");
  EXPECT_EQ(voxseg::cli::format_duration(187), "3:07");
  EXPECT_EQ(voxseg::cli::format_duration(3723), "1:02:03");
}
