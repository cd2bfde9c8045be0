#pragma once
#include <filesystem>
#include <string>

#include "voxseg/core/json.h"
#include "voxseg/core/volume.h"

namespace voxseg::io {

/// Pixel types on disk. Tensors have no uint16, so UInt16 files are read into int32 tensors
/// (lossless) and written back as uint16 when asked.
enum class PixelType { Auto, UInt8, Int8, UInt16, Int16, Int32, Float32, Float64 };

/// "uint8", "int16", ...; parse throws Error(Usage) listing the accepted names.
std::string pixel_type_name(PixelType type);
PixelType parse_pixel_type(const std::string& name);

struct ReadOptions {
  std::string series_uid;  ///< DICOM directory: which series (default: the one with most slices)
  /// DICOM series: largest allowed deviation of a slice step from the median step, as a fraction of
  /// it (0.05 = 5%); larger deviations are rejected, steps over 1.5x the median are missing slices.
  double slice_spacing_tolerance = 0.05;
  /// DICOM series acquired with gantry tilt (slice positions not along the slice normal): false
  /// refuses them (Error(BadInput)); true resamples them onto an orthogonal grid (docs/dicom-series.md).
  bool allow_tilt = false;
};

/// What the file said besides the voxels (for `voxseg info` and provenance).
struct VolumeFileInfo {
  std::string format;  ///< "NIfTI", "NRRD", "MetaImage", "DICOM"
  PixelType stored_type = PixelType::Auto;
  Json metadata = Json::object();  ///< DICOM: series_uid, modality, description, rescale; others: empty
};

/// Reads a NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd) file, a single DICOM
/// file, or a DICOM series from a folder (sorted by position, rescale slope/intercept applied).
/// data is [Z,Y,X] (3D) or [1,Y,X] (2D); vector images become [C,Z,Y,X].
/// Throws Error(BadInput) naming the file and the problem (missing, empty, truncated, 4D, NIfTI-2,
/// not an image, inconsistent or missing DICOM slices, ...).
Volume read_volume(const std::string& path, const ReadOptions& options = {}, VolumeFileInfo* info = nullptr);

struct WriteOptions {
  PixelType pixel_type = PixelType::Auto;  ///< Auto: the tensor's own type
  bool overwrite = false;
};

/// Writes atomically (temporary file in the target folder, then rename); format from the extension.
/// A path without a known extension, or a folder ending in '/', with DICOM meaning a series: see
/// dicom_series.h. Throws Error(CannotWrite) for an existing output without overwrite, a missing
/// folder or an unknown extension; Error(BadInput) when values do not fit the requested type.
void write_volume(const Volume& volume, const std::filesystem::path& path, const WriteOptions& options = {});

/// True when write_volume would write a DICOM series there: the path ends in '/', is an existing
/// folder, or has no known volume extension.
bool is_series_target(const std::filesystem::path& path);

/// The checks write_volume (series: write_dicom_series) makes before writing, for programs to run
/// before any heavy work: Error(CannotWrite) when the folder is missing or the output exists (a
/// non-empty folder, for a series) and overwrite is false.
void check_volume_output(const std::filesystem::path& path, bool overwrite, bool series);

/// True for the extensions read_volume and write_volume know (.nii, .nii.gz, .nrrd, .nhdr, .mha, .mhd, .dcm).
bool is_volume_path(const std::filesystem::path& path);

}  // namespace voxseg::io
