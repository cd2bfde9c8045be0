#pragma once
// Redirects the process's stderr (file descriptor 2) into a temporary file for the object's lifetime,
// so the output of libraries that report problems only on stderr (ITK's MetaIO) can be inspected.
// Not thread-safe: the redirect is process-wide.
#include <cstdio>
#include <string>

namespace voxseg {

class StderrCapture {
 public:
  StderrCapture();
  ~StderrCapture();
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  /// Restores stderr and returns what was printed meanwhile (at most about 1 MiB).
  std::string text();

  /// The process's stderr from before the capture (-1 once restored), and the descriptor the capture
  /// writes to (-1 when it could not be set up): for a signal handler that must still report on the
  /// real stderr (take them when the capture starts; the handler then needs only write/dup2).
  int original_fd() const { return saved_; }
  int capture_fd() const { return file_ ? ::fileno(file_) : -1; }

 private:
  void restore();
  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

}  // namespace voxseg
