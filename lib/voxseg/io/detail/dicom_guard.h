#pragma once
// Private to the DICOM reader (GDCM): what guards every GDCM call on a file.
#include <signal.h>

#include <string>

#include "voxseg/core/stderr_capture.h"

namespace voxseg::io::detail {

/// While GDCM (and the codecs under it: libjpeg, OpenJPEG, CharLS) works on a file, what they print
/// straight to stderr is captured (core/stderr_capture.h) and goes to the debug log (-vv) instead of
/// the terminal; and an assertion failure inside Debian's GDCM (which keeps asserts on) becomes one
/// error line and exit 3 instead of an abort with a core dump. Not thread-safe: DICOM reading is
/// single-threaded.
class GdcmGuard {
 public:
  /// `file`: the file (or folder) named in the debug log and in the abort's error line.
  explicit GdcmGuard(const std::string& file);
  ~GdcmGuard();
  GdcmGuard(const GdcmGuard&) = delete;
  GdcmGuard& operator=(const GdcmGuard&) = delete;

 private:
  std::string file_;
  std::string outer_message_;  // an enclosing guard's error line, restored when this one ends
  StderrCapture capture_;
  struct sigaction previous_ {};
  int outer_original_ = -1, outer_capture_ = -1;
};

}  // namespace voxseg::io::detail
