// Definitions of the private helpers in io_common.h that every io file shares: toolkit diagnostics
// routed to the debug log, extensions, ITK messages, input file checks. (configure_dcmtk_log is in
// detail/dicom_log.cpp: DCMTK stays in io/dicom* files; the NIfTI/gzip checks are in nifti_header.cpp.)
#include "voxseg/io/detail/io_common.h"

#include <gdcmTrace.h>
#include <itkObject.h>
#include <itkObjectFactory.h>
#include <itkOutputWindow.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <vector>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"

namespace fs = std::filesystem;

namespace voxseg::io::detail {
namespace {
// ITK's text output goes to voxseg's debug log instead of stderr.
class LogOutputWindow : public itk::OutputWindow {
 public:
  using Self = LogOutputWindow;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  void DisplayText(const char* text) override { log::debug("ITK: {}", clean_itk_message(text ? text : "")); }
};
}  // namespace

void quiet_toolkits() {
  static std::once_flag once;
  std::call_once(once, [] {
    itk::OutputWindow::SetInstance(LogOutputWindow::New());
    if (!log::enabled(log::Level::Debug)) itk::Object::GlobalWarningDisplayOff();
    gdcm::Trace::WarningOff();
    gdcm::Trace::ErrorOff();
    gdcm::Trace::DebugOff();
  });
}

std::string lower_extension(const fs::path& path) {
  std::string ext = full_extension(path);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  // full_extension knows ".nii.gz" only in lower case.
  std::string name = path.filename().string();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.size() > 7 && name.compare(name.size() - 7, 7, ".nii.gz") == 0) return ".nii.gz";
  return ext;
}

std::string clean_itk_message(const std::string& text) {
  // ITK descriptions look like "/path/itkFoo.cxx:123:\nITK ERROR: NiftiImageIO(0x..): what"; teem (NRRD)
  // appends its call stack, innermost last: "[nrrd] _nrrdEncodingGzip_read: expected N bytes ...".
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (line.empty()) continue;
    if ((line.find(".cxx:") != std::string::npos || line.find(".hxx:") != std::string::npos ||
         line.find(".h:") != std::string::npos) &&
        line.back() == ':')
      continue;  // only a source location
    for (const char* prefix : {"ITK ERROR: ", "ITK WARNING: ", "WARNING: ", "ERROR: "}) {
      const size_t at = line.find(prefix);
      if (at != std::string::npos) line = line.substr(at + std::strlen(prefix));
    }
    const size_t paren = line.find("(0x");  // "NiftiImageIO(0x55d...): message" -> "message"
    if (paren != std::string::npos) {
      const size_t close = line.find("): ", paren);
      if (close != std::string::npos) line = line.substr(close + 3);
    }
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty()) return "unknown ITK error";
  if (lines.front().back() == ':' && lines.size() > 1) {
    std::string inner = lines.back();
    if (inner.rfind("[", 0) == 0) {  // "[nrrd] func: what" -> "what"
      const size_t colon = inner.find(": ");
      if (colon != std::string::npos) inner = inner.substr(colon + 2);
    }
    return inner;
  }
  return lines.front();
}

void check_readable_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ExitCode::BadInput, "cannot read '{}': no such file or folder", path.string());
  if (fs::is_directory(path, ec))
    fail(ExitCode::BadInput, "cannot read '{}': it is a folder, not a volume file", path.string());
  if (fs::file_size(path, ec) == 0 && !ec) fail(ExitCode::BadInput, "cannot read '{}': file is empty", path.string());
}

}  // namespace voxseg::io::detail
