#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/core/volume.h"

namespace voxseg::io {

struct DicomSeriesInfo {
  std::string series_uid;
  std::string modality;
  std::string description;
  int slices = 0;
};

/// True when the file has the DICM preamble (or is a .dcm file that parses as DICOM).
bool is_dicom_file(const std::filesystem::path& path);
/// True when the folder directly holds at least one DICOM file.
bool is_dicom_directory(const std::filesystem::path& dir);
/// Series found in a folder, most slices first. Throws Error(BadInput) when there are none.
std::vector<DicomSeriesInfo> list_dicom_series(const std::filesystem::path& dir);

struct DicomWriteOptions {
  std::string modality = "CT";  ///< CT Image Storage for "CT", MR Image Storage for "MR"
  std::string patient_id = "VOXSEG_PHANTOM";
  std::string patient_name = "Phantom^Voxseg";
  std::string series_description = "voxseg";
  std::string uid_seed;  ///< non-empty: study/series/instance UIDs derived from it (reproducible files)
  bool overwrite = false;
};

/// Writes a 3D volume as a DICOM series, one file per slice (IMG0001.dcm, ...), with consistent UIDs,
/// positions, orientation and rescale (int16 stored; rescale intercept chosen so values fit).
/// The folder is written atomically (temporary folder, then rename). Throws Error(CannotWrite).
void write_dicom_series(const Volume& volume, const std::filesystem::path& dir, const DicomWriteOptions& options);

}  // namespace voxseg::io
