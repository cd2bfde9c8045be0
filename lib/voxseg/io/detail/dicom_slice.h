#pragma once
// Private to the DICOM series reader: one scanned file's header facts, and the steps from scanning
// to reading pixels (listing and scanning files, grouping into series, dropping localizers, ordering
// and checking the stack, gantry tilt, pixel data). No GDCM, ITK or DCMTK types here.
#include <ATen/core/Tensor.h>

#include <array>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "voxseg/io/dicom_series.h"
#include "voxseg/io/volume_io.h"

namespace voxseg::io::detail {

// Header fields of one file, as the scanner found them.
struct Slice {
  std::filesystem::path path;
  std::string series_uid, study_uid, modality, description, patient_id, sop_class, frame_of_reference;
  std::string photometric, image_type;
  bool has_frames_tag = false, has_grid_offsets = false;
  bool uid_missing = false;  // SeriesInstanceUID empty or absent: series_uid is a made-up "no-uid-N"
  std::vector<double> orientation, position, pixel_spacing;
  int rows = 0, columns = 0, frames = 1, samples = 1, bits_allocated = 16, bits_stored = 16, signed_pixels = 0;
  int instance = 0;
  std::string series_number, acquisition_number;
  double slope = 1.0, intercept = 0.0, thickness = 0.0;
  double along_normal = 0.0;  // set when sorting
};

/// The regular, non-hidden files of `dir`, sorted by name (dicom_scan.cpp).
std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir);

/// Header fields of those `files` that are DICOM images (others are skipped), read with
/// gdcm::Scanner without pixel data (dicom_scan.cpp).
std::vector<Slice> scan_slices(const std::vector<std::filesystem::path>& files);

/// Grouped series as listed to the user: largest first (dicom_scan.cpp).
std::vector<DicomSeriesInfo> describe_series(const std::map<std::string, std::vector<Slice>>& series);

/// "UID (CT, 'description', 120 slices)" for warnings and errors (dicom_scan.cpp).
std::string series_one_line(const DicomSeriesInfo& s);

/// A file left out of the volume, and why (reported by `voxseg info` and in one warning).
struct DroppedSlice {
  std::string file, reason;
};

/// Series keyed by SeriesInstanceUID. Files without one are grouped by what makes a series
/// (orientation, pixel spacing, rows/columns, modality, series description and number, acquisition
/// number) under made-up keys "no-uid-1", "no-uid-2", ... (numbered in file-name order);
/// *uidless (if given) counts those files.
std::map<std::string, std::vector<Slice>> group_series(std::vector<Slice> slices, size_t* uidless = nullptr);

/// Removes localizer/scout images (ImageType value 3 LOCALIZER, or SCOUT) from a series that also
/// holds other images, returning them. A series of localizers only is left alone.
std::vector<DroppedSlice> drop_localizers(std::vector<Slice>& slices);

/// How the slices of a checked series stack up.
struct Stack {
  std::array<double, 3> row{}, col{}, normal{};
  double spacing = 1.0;  ///< along the normal (mean step)
  /// Gantry tilt: in-plane drift of each slice relative to the previous one, in pixels along
  /// columns (x) and rows (y); zero for an orthogonal stack.
  double drift_x = 0.0, drift_y = 0.0;
  double tilt_degrees = 0.0;
};

/// Sorts the slices along the slice normal and checks they form one evenly spaced stack: one
/// orientation and size, no duplicates, every step within options.slice_spacing_tolerance of the
/// median (listing every gap and irregular step when not), and no gantry tilt unless
/// options.allow_tilt. Throws Error(BadInput) naming `where`.
Stack order_slices(std::vector<Slice>& slices, const std::string& where, const ReadOptions& options);

/// Resamples a sheared (gantry-tilt) stack [Z,Y,X] or [Z,Y,X,C] onto the orthogonal grid along the
/// slice normal: slice k is shifted in-plane by -(k - (Z-1)/2) * drift with bilinear interpolation,
/// so the middle slice stays put. Voxels from outside the acquired field get the minimum value.
/// Integer data is rounded back to its type.
at::Tensor resample_tilted(const at::Tensor& data, double drift_x, double drift_y);

/// Header problems GDCM would abort on (Debian's GDCM keeps its asserts): Error(BadInput)
/// (dicom_pixels.cpp).
void check_decodable(const Slice& s);

/// Reads the pixels of `s`'s file into `out` ([rows, columns(, samples)] or, for a multi-frame
/// file, [frames, rows, columns(, samples)], of the output dtype), checking the pixel data is
/// complete and applying the file's rescale slope/intercept (dicom_pixels.cpp).
void read_pixels(const Slice& s, at::Tensor out);

}  // namespace voxseg::io::detail
