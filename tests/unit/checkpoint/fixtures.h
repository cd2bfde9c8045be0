#pragma once
// Test fixtures written at test time by make_fixtures.py with Debian's /usr/bin/python3 + torch.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace voxseg::checkpoint::testing {

/// Folder holding the fixtures, generated once per script version (atomically, so parallel test
/// processes share it); empty when /usr/bin/python3 cannot import torch (tests then skip).
inline std::string fixture_dir() {
  namespace fs = std::filesystem;
  static const std::string dir = [] {
    const std::string script = VOXSEG_SOURCE_DIR "/tests/unit/checkpoint/make_fixtures.py";
    const auto stamp = fs::last_write_time(script).time_since_epoch().count();
    const fs::path target = fs::path(VOXSEG_CHECKPOINT_FIXTURES) / ("v" + std::to_string(stamp));
    if (fs::exists(target / "done")) return target.string();
    if (std::system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") != 0) return std::string();
    const fs::path tmp = target.string() + ".tmp" + std::to_string(getpid());
    fs::create_directories(tmp);
    const std::string cmd = "/usr/bin/python3 '" + script + "' '" + tmp.string() + "' >'" + tmp.string() + "/log' 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      ADD_FAILURE() << "make_fixtures.py failed; see " << tmp << "/log";
      return std::string();
    }
    std::ofstream(tmp / "done") << "ok\n";
    std::error_code ec;
    fs::rename(tmp, target, ec);  // another process may have won the race: use its copy
    if (ec) fs::remove_all(tmp, ec);
    return target.string();
  }();
  return dir;
}

#define VOXSEG_REQUIRE_FIXTURES()                                                               \
  const std::string fixtures = ::voxseg::checkpoint::testing::fixture_dir();                    \
  if (fixtures.empty()) GTEST_SKIP() << "/usr/bin/python3 lacks torch/numpy: cannot write .pth fixtures"

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace voxseg::checkpoint::testing
