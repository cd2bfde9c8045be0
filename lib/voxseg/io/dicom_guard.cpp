// GdcmGuard (detail/dicom_guard.h): stderr capture and the SIGABRT handler around GDCM calls.
#include "voxseg/io/detail/dicom_guard.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"

namespace voxseg::io::detail {
namespace {

// What the handler needs, prepared outside it (it may only write, dup2 and _exit).
char g_message[4600] = {};
int g_original_fd = -1;  // the real stderr while a guard captures it
int g_capture_fd = -1;   // where the capture goes
bool g_debug = false;

void on_abort(int) {
  if (g_original_fd >= 0) {
    if (g_debug && g_capture_fd >= 0 && ::lseek(g_capture_fd, 0, SEEK_SET) == 0) {
      // With -vv, what the decoder printed (the failed assertion) is shown before the error line.
      char buf[4096];
      for (ssize_t n; (n = ::read(g_capture_fd, buf, sizeof buf)) > 0;) {
        const ssize_t ignored = ::write(g_original_fd, buf, static_cast<size_t>(n));
        (void)ignored;
      }
    }
    ::dup2(g_original_fd, STDERR_FILENO);
  }
  const ssize_t ignored = ::write(STDERR_FILENO, g_message, std::strlen(g_message));
  (void)ignored;
  ::_exit(static_cast<int>(ExitCode::BadInput));
}

}  // namespace

GdcmGuard::GdcmGuard(const std::string& file) : file_(file), outer_message_(g_message) {
  std::snprintf(g_message, sizeof g_message,
                "%s: error: cannot read '%s': the DICOM decoder aborted on this file (malformed or unsupported)\n",
                log::program().c_str(), file.c_str());
  outer_original_ = g_original_fd;
  outer_capture_ = g_capture_fd;
  g_original_fd = capture_.original_fd();
  g_capture_fd = capture_.capture_fd();
  g_debug = log::enabled(log::Level::Debug);
  struct sigaction sa {};
  sa.sa_handler = on_abort;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGABRT, &sa, &previous_);
}

GdcmGuard::~GdcmGuard() {
  g_original_fd = outer_original_;
  g_capture_fd = outer_capture_;
  std::snprintf(g_message, sizeof g_message, "%s", outer_message_.c_str());
  std::string text = capture_.text();  // restores stderr
  sigaction(SIGABRT, &previous_, nullptr);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) log::debug("GDCM while reading '{}': {}", file_, text);
}

}  // namespace voxseg::io::detail
