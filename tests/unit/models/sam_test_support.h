#pragma once
// SAM reference fixtures written by tests/tools/make_sam_fixture.py (an independent PyTorch
// implementation), cached per build tree so the ctest processes of one run share them.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "../shared_test_support.h"
#include "voxseg/checkpoint/pth_reader.h"

namespace voxseg::models::test {

namespace fs = std::filesystem;

/// Runs the fixture script into `<tmp>/<name>` unless an earlier run left a complete copy that is
/// newer than the script; generated into a private folder and renamed, so concurrent tests agree.
inline fs::path sam_fixture(const std::string& name, const std::string& args) {
  const fs::path base = VOXSEG_SAM_TEST_TMP;
  const fs::path dir = base / name;
  const fs::path script = VOXSEG_SAM_FIXTURE_SCRIPT;
  std::error_code ec;
  if (fs::exists(dir / "done") && fs::last_write_time(dir / "done", ec) >= fs::last_write_time(script, ec)) return dir;
  const fs::path work = base / (name + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::create_directories(work);
  const std::string cmd = "/usr/bin/python3 '" + script.string() + "' '" + work.string() + "' " + args;
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("fixture script failed: " + cmd);
  std::ofstream(work / "done") << "ok\n";
  fs::remove_all(dir, ec);
  fs::rename(work, dir, ec);
  if (ec) fs::remove_all(work, ec);  // another process won the race; its copy is identical
  return dir;
}

inline std::map<std::string, at::Tensor> read_io(const fs::path& dir) {
  std::map<std::string, at::Tensor> io;
  for (auto& [k, v] : checkpoint::read_state_dict((dir / "io.pth").string(), {"/", false})) io[k] = v;
  return io;
}

/// max |a - b| relative to max(1, max |b|); inf when the shapes differ.
inline double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes()) return std::numeric_limits<double>::infinity();
  const at::Tensor ad = a.to(at::kDouble), bd = b.to(at::kDouble);
  const double scale = std::max(1.0, bd.abs().max().item<double>());
  return (ad - bd).abs().max().item<double>() / scale;
}

}  // namespace voxseg::models::test
