#include "voxseg/core/progress.h"

#include <gtest/gtest.h>

#include <vector>

namespace {
struct Recorder : voxseg::ProgressSink {
  std::vector<std::pair<std::string, double>> updates;
  void update(const std::string& label, double fraction) override { updates.emplace_back(label, fraction); }
};
}  // namespace

TEST(Progress, DefaultHandleIsSilent) {
  voxseg::Progress p;
  EXPECT_TRUE(p.is_silent());
  p.set_total(10);
  p.advance();
  EXPECT_TRUE(p.child("x", 0.5).is_silent());
}

TEST(Progress, ChildrenCoverConsecutiveShares) {
  auto sink = std::make_shared<Recorder>();
  voxseg::Progress root(sink, "case");
  auto read = root.child("read", 0.2);
  auto run = root.child("run", 0.8);
  read.set_total(1);
  read.advance();
  run.set_total(4);
  run.advance(2);
  run.advance(2);
  ASSERT_EQ(sink->updates.size(), 3u);
  EXPECT_EQ(sink->updates[0].first, "read");
  EXPECT_DOUBLE_EQ(sink->updates[0].second, 0.2);
  EXPECT_DOUBLE_EQ(sink->updates[1].second, 0.6);
  EXPECT_DOUBLE_EQ(sink->updates[2].second, 1.0);
}
