#include "voxseg/core/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "voxseg/core/error.h"

namespace fs = std::filesystem;
using voxseg::AtomicFile;
using voxseg::Error;
using voxseg::ExitCode;

namespace {
fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("voxseg_atomic_" + name + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
size_t count_entries(const fs::path& dir) {
  return size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}
}  // namespace

TEST(AtomicFile, TemporaryKeepsCompoundExtension) {
  const fs::path dir = fresh_dir("ext");
  AtomicFile f(dir / "case_001.nii.gz", false);
  const std::string name = f.temp_path().filename().string();
  EXPECT_EQ(name.rfind(".case_001.partial-", 0), 0u) << name;
  EXPECT_EQ(voxseg::full_extension(f.temp_path()), ".nii.gz");
}

TEST(AtomicFile, UncommittedWriteLeavesNothing) {
  const fs::path dir = fresh_dir("abort");
  {
    AtomicFile f(dir / "out.json", false);
    std::ofstream(f.temp_path()) << "half";
  }
  EXPECT_EQ(count_entries(dir), 0u);
}

TEST(AtomicFile, RefusesExistingOutputWithoutOverwriteAndKeepsIt) {
  const fs::path dir = fresh_dir("exists");
  std::ofstream(dir / "out.txt") << "original";
  try {
    voxseg::write_text_atomic(dir / "out.txt", "new", false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::CannotWrite);
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos);
  }
  EXPECT_EQ(slurp(dir / "out.txt"), "original");
  voxseg::write_text_atomic(dir / "out.txt", "new", true);
  EXPECT_EQ(slurp(dir / "out.txt"), "new");
  EXPECT_EQ(count_entries(dir), 1u);
}

TEST(AtomicFile, MissingFolderIsCannotWrite) {
  const fs::path dir = fresh_dir("missing");
  try {
    AtomicFile f(dir / "no" / "such" / "out.nii.gz", false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::CannotWrite);
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
}

TEST(FileNames, StemAndExtension) {
  EXPECT_EQ(voxseg::stem_without_extension("a/b/case_1.nii.gz"), "case_1");
  EXPECT_EQ(voxseg::stem_without_extension("x.nrrd"), "x");
  EXPECT_EQ(voxseg::full_extension("x.mha"), ".mha");
  EXPECT_EQ(voxseg::full_extension("noext"), "");
}

TEST(StalePartials, OnlyTemporariesOfDeadProcessesForTheTargetGo) {
  const fs::path dir = fresh_dir("stale");
  const pid_t dead = [] {  // a process that has exited
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
  }();
  const fs::path target = dir / "ct.nii.gz";
  const fs::path stale = dir / (".ct.partial-" + std::to_string(dead) + ".nii.gz");
  const fs::path live = dir / (".ct.partial-" + std::to_string(::getppid()) + ".nii.gz");
  const fs::path other = dir / (".ct2.partial-" + std::to_string(dead) + ".nii.gz");
  const fs::path json = dir / (".ct.partial-" + std::to_string(dead) + ".json");
  for (const auto& p : {stale, live, other, json}) std::ofstream(p) << "x";
  EXPECT_EQ(voxseg::remove_stale_partials({target, dir / "ct.json"}), 2);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(json));
  EXPECT_TRUE(fs::exists(live));   // its process runs
  EXPECT_TRUE(fs::exists(other));  // another case's
}

TEST(OutputFolder, IsCreatedAndProvenWritable) {
  const fs::path dir = fresh_dir("folder") / "a" / "b";
  voxseg::check_output_folder(dir);
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(count_entries(dir), 0u);  // the probe is gone
  try {
    voxseg::check_output_folder("/proc/voxseg-no-such-folder");
    FAIL() << "a folder under /proc was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::CannotWrite);
  }
}

