// DICOM reading through GDCM (as ITK uses it): single files and series folders.
#include "voxseg/io/dicom_series.h"

#include <gdcmTrace.h>

#include <fstream>

#include "voxseg/core/error.h"
#include "voxseg/io/detail/io_common.h"

namespace fs = std::filesystem;

namespace voxseg::io {

namespace detail {
void quiet_toolkits_gdcm() {
  gdcm::Trace::WarningOff();
  gdcm::Trace::ErrorOff();
  gdcm::Trace::DebugOff();
}

Volume read_dicom(const fs::path& path, const ReadOptions&, VolumeFileInfo*) {
  fail(ExitCode::BadInput, "cannot read '{}': DICOM reading is not available yet", path.string());
}
}  // namespace detail

bool is_dicom_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[132] = {};
  in.read(buf, sizeof buf);
  return in.gcount() == 132 && std::string(buf + 128, 4) == "DICM";
}

bool is_dicom_directory(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && is_dicom_file(e.path())) return true;
  return false;
}

std::vector<DicomSeriesInfo> list_dicom_series(const fs::path& dir) {
  fail(ExitCode::BadInput, "cannot read '{}': DICOM reading is not available yet", dir.string());
}

void write_dicom_series(const Volume&, const fs::path& dir, const DicomWriteOptions&) {
  fail(ExitCode::CannotWrite, "cannot write '{}': DICOM writing is not available yet", dir.string());
}

}  // namespace voxseg::io
