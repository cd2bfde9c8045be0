// GdcmGuard: what GDCM and its codecs print goes to the debug log (-vv) instead of the terminal, and an
// abort inside GDCM (Debian keeps its asserts) becomes one error line and exit 3.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "voxseg/core/log.h"
#include "voxseg/io/detail/dicom_guard.h"

using voxseg::io::detail::GdcmGuard;
namespace vlog = voxseg::log;

namespace {

// Restores the log level a test changed.
struct LevelScope {
  vlog::Level saved = vlog::level();
  explicit LevelScope(vlog::Level l) { vlog::set_level(l); }
  ~LevelScope() { vlog::set_level(saved); }
};

std::string print_inside_guard(const std::string& text) {
  testing::internal::CaptureStderr();
  {
    GdcmGuard guard("scan/IMG0001.dcm");
    std::fputs(text.c_str(), stderr);
  }
  return testing::internal::GetCapturedStderr();
}

// Death-test bodies: a decoder that prints and aborts inside the guard, or after it ended.
[[noreturn]] void abort_inside_guard(vlog::Level level) {
  vlog::set_level(level);
  GdcmGuard guard("bad/IMG0002.dcm");
  std::fputs("gdcm assertion failed: length\n", stderr);
  std::abort();
}

[[noreturn]] void abort_after_guard() {
  rlimit no_core{};  // no core file from the expected abort
  setrlimit(RLIMIT_CORE, &no_core);
  { GdcmGuard guard("ok/IMG0003.dcm"); }
  std::abort();
}

}  // namespace

TEST(GdcmGuard, DecoderOutputHiddenWithoutDebug) {
  LevelScope level(vlog::Level::Warn);
  const std::string out = print_inside_guard("jpeg: corrupt marker\n");
  EXPECT_EQ(out.find("corrupt marker"), std::string::npos) << out;
}

TEST(GdcmGuard, DecoderOutputInDebugLog) {
  LevelScope level(vlog::Level::Debug);
  const std::string out = print_inside_guard("jpeg: corrupt marker\n");
  EXPECT_NE(out.find("GDCM while reading 'scan/IMG0001.dcm': jpeg: corrupt marker"), std::string::npos) << out;
}

TEST(GdcmGuard, NothingPrintedNothingLogged) {
  LevelScope level(vlog::Level::Debug);
  EXPECT_EQ(print_inside_guard(""), "");
}

TEST(GdcmGuardDeathTest, AbortBecomesErrorLineAndExit3) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(abort_inside_guard(vlog::Level::Warn), testing::ExitedWithCode(3),
              "cannot read 'bad/IMG0002.dcm': the DICOM decoder aborted on this file");
}

TEST(GdcmGuardDeathTest, AbortShowsDecoderOutputWithDebug) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(abort_inside_guard(vlog::Level::Debug), testing::ExitedWithCode(3),
              "gdcm assertion failed: length\n.*the DICOM decoder aborted");
}

TEST(GdcmGuardDeathTest, AbortAfterGuardEndsIsNotCaught) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(abort_after_guard(), testing::KilledBySignal(SIGABRT), "");
}
