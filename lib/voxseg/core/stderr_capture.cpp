#include "voxseg/core/stderr_capture.h"

#include <unistd.h>

namespace voxseg {

StderrCapture::StderrCapture() {
  std::fflush(stderr);
  file_ = std::tmpfile();
  saved_ = ::dup(STDERR_FILENO);
  if (file_ && saved_ >= 0) ::dup2(::fileno(file_), STDERR_FILENO);
}

StderrCapture::~StderrCapture() {
  restore();
  if (file_) std::fclose(file_);
}

std::string StderrCapture::text() {
  restore();
  std::string out;
  if (!file_) return out;
  std::rewind(file_);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0 && out.size() < (1u << 20)) out.append(buf, n);
  return out;
}

void StderrCapture::restore() {
  if (saved_ < 0) return;
  std::fflush(stderr);
  ::dup2(saved_, STDERR_FILENO);
  ::close(saved_);
  saved_ = -1;
}

}  // namespace voxseg
