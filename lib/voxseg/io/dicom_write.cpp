// Writing DICOM series with DCMTK (dcmdata): CT/MR Image Storage, one file per slice.
#include "voxseg/core/error.h"
#include "voxseg/io/dicom_series.h"

namespace fs = std::filesystem;

namespace voxseg::io {

void write_dicom_series(const Volume&, const fs::path& dir, const DicomWriteOptions&) {
  fail(ExitCode::CannotWrite, "cannot write '{}': DICOM writing is not available yet", dir.string());
}

}  // namespace voxseg::io
