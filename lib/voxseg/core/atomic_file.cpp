#include "voxseg/core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
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

bool sync_to_disk(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
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
  // Data on disk before the name points at it, and the new name on disk before we report success:
  // a crash or power loss then leaves either the old output or the complete new one.
  if (!sync_to_disk(temp_)) fail(ExitCode::CannotWrite, "cannot write '{}': fsync failed", target_.string());
  fs::rename(temp_, target_, ec);
  if (ec) fail(ExitCode::CannotWrite, "cannot write '{}': {}", target_.string(), ec.message());
  committed_ = true;
  sync_to_disk(target_.has_parent_path() ? target_.parent_path() : fs::path("."));
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

void check_output_folder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) fail(ExitCode::CannotWrite, "cannot create output folder '{}': {}", dir.string(), ec.message());
  }
  const fs::path probe = dir / fmt::format(".voxseg-write-test-{}", ::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    fail(ExitCode::CannotWrite, "cannot write in output folder '{}': {}", dir.string(), std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

namespace {
// ".<stem>.partial-<pid><ext>" of exactly `target`: the pid, or -1 when `name` is not one.
long partial_pid(const std::string& name, const fs::path& target) {
  const std::string head = "." + stem_without_extension(target) + ".partial-", ext = full_extension(target);
  if (name.size() <= head.size() + ext.size() || name.compare(0, head.size(), head) != 0 ||
      name.compare(name.size() - ext.size(), ext.size(), ext) != 0)
    return -1;
  const std::string digits = name.substr(head.size(), name.size() - head.size() - ext.size());
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stol(digits);
}
}  // namespace

int remove_stale_partials(const std::vector<fs::path>& targets) {
  std::map<fs::path, std::vector<fs::path>> by_folder;
  for (const auto& t : targets)
    if (!t.filename().empty()) by_folder[t.has_parent_path() ? t.parent_path() : fs::path(".")].push_back(t);
  int removed = 0;
  for (const auto& [folder, group] : by_folder) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name[0] != '.' || name.find(".partial-") == std::string::npos) continue;
      for (const auto& t : group) {
        const long pid = partial_pid(name, t);
        if (pid <= 0 || pid == long(::getpid())) continue;
        if (::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to probe)
        std::error_code rm;
        if (fs::remove(entry.path(), rm)) ++removed;
      }
    }
  }
  return removed;
}

}  // namespace voxseg
