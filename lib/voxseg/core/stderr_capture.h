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

 private:
  void restore();
  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

}  // namespace voxseg
