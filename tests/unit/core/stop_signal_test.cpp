// SIGINT/SIGTERM recorded inside a StopSignalScope, the previous handlers back after it.
#include "voxseg/core/stop_signal.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>

using voxseg::SecondSignal;
using voxseg::stop_signal;
using voxseg::StopSignalScope;

namespace {
std::atomic<int> g_test_handler_saw{0};
void test_handler(int sig) { g_test_handler_saw.store(sig); }

// Installs test_handler for SIGINT and SIGTERM for the test's duration (the defaults afterwards).
class StopSignalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_test_handler_saw.store(0);
    std::signal(SIGINT, test_handler);
    std::signal(SIGTERM, test_handler);
  }
  void TearDown() override {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
};

void (*current_handler(int sig))(int) {
  struct sigaction now {};
  sigaction(sig, nullptr, &now);
  return now.sa_handler;
}
}  // namespace

TEST_F(StopSignalTest, SignalInsideTheScopeIsRecordedAndHandlersAreRestoredAfter) {
  {
    StopSignalScope scope;
    EXPECT_EQ(stop_signal(), 0);
    EXPECT_NE(current_handler(SIGTERM), &test_handler);
    std::raise(SIGTERM);
    EXPECT_EQ(stop_signal(), SIGTERM);
    EXPECT_EQ(g_test_handler_saw.load(), 0);  // the scope's handler took it
  }
  EXPECT_EQ(stop_signal(), SIGTERM);  // still readable after the scope
  EXPECT_EQ(current_handler(SIGTERM), &test_handler);
  EXPECT_EQ(current_handler(SIGINT), &test_handler);
  std::raise(SIGINT);
  EXPECT_EQ(g_test_handler_saw.load(), SIGINT);
}

TEST_F(StopSignalTest, ANewScopeStartsClearAndKeepsTheFirstStop) {
  {
    StopSignalScope scope;
    std::raise(SIGTERM);
  }
  StopSignalScope scope;
  EXPECT_EQ(stop_signal(), 0);
  std::raise(SIGINT);
  std::raise(SIGTERM);  // SecondSignal::Ignore: the process goes on
  EXPECT_EQ(stop_signal(), SIGINT);
}

TEST_F(StopSignalTest, RequestStopWithoutASignal) {
  StopSignalScope scope;
  voxseg::request_stop();
  EXPECT_EQ(stop_signal(), -1);
  std::raise(SIGTERM);
  EXPECT_EQ(stop_signal(), -1);  // the first stop stays
}

TEST_F(StopSignalTest, ASecondSignalExitsWhenAsked) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        StopSignalScope scope(SecondSignal::Exit);
        std::raise(SIGTERM);
        if (stop_signal() != SIGTERM) std::_Exit(1);
        std::raise(SIGTERM);
        std::_Exit(0);  // not reached
      },
      ::testing::ExitedWithCode(128 + SIGTERM), "");
}
