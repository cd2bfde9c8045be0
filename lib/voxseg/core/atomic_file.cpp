#include "voxseg/core/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <vector>

#include "voxseg/core/error.h"

namespace fs = std::filesystem;

namespace voxseg {

namespace cleanup {
namespace {
// Fixed-size table of C strings so the signal handler needs no allocation or locks.
constexpr int kSlots = 64;
constexpr int kPathMax = 4096;
char g_paths[kSlots][kPathMax];
volatile sig_atomic_t g_used[kSlots];
std::mutex g_mutex;

void on_signal(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i]) ::unlink(g_paths[i]);
  ::signal(sig, SIG_DFL);
  ::_exit(128 + sig);
}
}  // namespace

void add(const fs::path& path) {
  const std::string s = path.string();
  if (s.size() >= kPathMax) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  for (int i = 0; i < kSlots; ++i) {
    if (!g_used[i]) {
      std::memcpy(g_paths[i], s.c_str(), s.size() + 1);
      g_used[i] = 1;
      return;
    }
  }
}

void remove(const fs::path& path) {
  const std::string s = path.string();
  std::lock_guard<std::mutex> lock(g_mutex);
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i] && s == g_paths[i]) g_used[i] = 0;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}
}  // namespace cleanup

std::string full_extension(const fs::path& path) {
  const std::string name = path.filename().string();
  static const char* kCompound[] = {".nii.gz", ".tar.gz", ".csv.gz", ".json.gz"};
  for (const char* ext : kCompound) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) return e;
  }
  return path.extension().string();
}

std::string stem_without_extension(const fs::path& path) {
  const std::string name = path.filename().string();
  return name.substr(0, name.size() - full_extension(path).size());
}

void check_output_path(const fs::path& path, bool overwrite) {
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(parent, ec))
    fail(ExitCode::CannotWrite, "cannot write '{}': folder '{}' does not exist", path.string(), parent.string());
  if (fs::exists(path, ec) && !overwrite)
    fail(ExitCode::CannotWrite, "output '{}' already exists; use --force to overwrite it", path.string());
}

AtomicFile::AtomicFile(fs::path target, bool overwrite) : target_(std::move(target)), overwrite_(overwrite) {
  check_output_path(target_, overwrite_);
  const fs::path parent = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
  temp_ = parent / fmt::format(".{}.partial-{}{}", stem_without_extension(target_), ::getpid(),
                               full_extension(target_));
  cleanup::add(temp_);
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
  cleanup::remove(temp_);
}

void AtomicFile::commit() {
  std::error_code ec;
  if (!fs::exists(temp_, ec))
    fail(ExitCode::CannotWrite, "cannot write '{}': nothing was written", target_.string());
  if (!overwrite_ && fs::exists(target_, ec))
    fail(ExitCode::CannotWrite, "output '{}' appeared while writing; use --force to overwrite it",
         target_.string());
  fs::rename(temp_, target_, ec);
  if (ec) fail(ExitCode::CannotWrite, "cannot write '{}': {}", target_.string(), ec.message());
  committed_ = true;
}

void write_text_atomic(const fs::path& target, const std::string& text, bool overwrite) {
  AtomicFile file(target, overwrite);
  {
    std::ofstream out(file.temp_path(), std::ios::binary);
    out << text;
    out.flush();
    if (!out) fail(ExitCode::CannotWrite, "cannot write '{}': {}", target.string(), std::strerror(errno));
  }
  file.commit();
}

}  // namespace voxseg
