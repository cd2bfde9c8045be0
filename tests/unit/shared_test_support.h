#pragma once
// Helpers for unit tests of several modules: fresh scratch folders, errors thrown by a call, and
// the check for Debian's python3-torch, which writes the PyTorch reference fixtures.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "voxseg/core/error.h"

namespace voxseg::test_support {

/// `base`/<name>-<pid>, emptied first if a previous run left it.
inline std::filesystem::path fresh_dir(const std::filesystem::path& base, const std::string& name) {
  const std::filesystem::path dir = base / (name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline bool python_torch_available() {
  static const int rc = std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1");
  return rc == 0;
}

/// Runs `f` and returns the voxseg::Error it throws (fails the test when it throws nothing).
template <typename F>
Error capture_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a voxseg::Error";
  return Error(ExitCode::Ok, "");
}

/// Runs `f` and returns the message of the `E` it throws, e.g. std::invalid_argument from the JSON
/// field readers (fails the test when it throws nothing).
template <typename E, typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "no error";
}

}  // namespace voxseg::test_support

#define VOXSEG_REQUIRE_PYTHON_TORCH()                                                             \
  if (!::voxseg::test_support::python_torch_available())                                          \
  GTEST_SKIP() << "/usr/bin/python3 cannot import torch (install python3-torch) to write reference " \
                  "fixtures"
