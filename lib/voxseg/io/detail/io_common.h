#pragma once
// Private helpers shared by the io/*.cpp files (no ITK or DCMTK types here).
#include <cstdint>
#include <filesystem>
#include <string>

#include "voxseg/core/volume.h"
#include "voxseg/io/volume_io.h"

namespace voxseg::io::detail {

/// Routes ITK and GDCM diagnostics to voxseg's debug log (once per process), so files that make
/// those libraries print thousands of warnings (zero-padded DICOM) do not flood stderr.
void quiet_toolkits();

/// DCMTK's log (every io file that reads or writes with DCMTK): its messages (which attribute is
/// missing, ...) only with -vv.
void configure_dcmtk_log();

/// Lower-case compound extension (".nii.gz", ".nrrd", "" when none).
std::string lower_extension(const std::filesystem::path& path);

/// First meaningful line of an ITK exception description, without ITK's file:line prefix.
std::string clean_itk_message(const std::string& text);

/// Fails with Error(BadInput) when `path` is missing, a folder where a file is expected, or empty.
void check_readable_file(const std::filesystem::path& path);

/// NIfTI header checks ITK 5.2 misses: NIfTI-2, 4D/5D time series, not a NIfTI header at all.
/// Reads only the header (through zlib for .gz). Throws Error(BadInput). Returns the header's
/// datatype as a PixelType (Auto for types without one), and whether scl_slope/scl_inter rescale.
struct NiftiHeaderFacts {
  PixelType stored = PixelType::Auto;
  bool rescaled = false;
};
NiftiHeaderFacts check_nifti_header(const std::filesystem::path& path);

/// For a .gz file: "" when the gzip stream is complete, else why not ("truncated gzip data").
std::string gzip_problem(const std::filesystem::path& path, uint64_t* inflated_bytes = nullptr);

/// DICOM reading (dicom_series.cpp): a single file or a series folder.
Volume read_dicom(const std::filesystem::path& path, const ReadOptions& options, VolumeFileInfo* info);

}  // namespace voxseg::io::detail
