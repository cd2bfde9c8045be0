#pragma once
// Private to io/dicom_seg_*.cpp: the source series a SEG refers to, read from file headers only.
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/core/volume.h"
#include "voxseg/io/detail/io_common.h"
#include "voxseg/io/volume_io.h"

namespace voxseg::io::detail {

struct SourceSlice {
  std::filesystem::path path;
  std::string sop_class, sop_uid, series_uid, study_uid, patient_id, frame_of_reference;
  std::array<double, 6> orientation{};
  std::array<double, 3> position{};
  std::array<std::string, 3> position_text;  ///< ImagePositionPatient as the file spells it
  std::array<double, 2> pixel_spacing{1.0, 1.0};  ///< (between rows, between columns)
  int rows = 0, columns = 0, frames = 1;
  double thickness = 0.0, along_normal = 0.0;
};

struct SourceSeries {
  std::vector<SourceSlice> slices;  ///< sorted along the slice normal (geometry's z index)
  Geometry geometry;
};

/// The single-frame series in `path` (a folder, or one file of the series): `series_uid`, or the
/// one with the most slices. Sorted and checked as read_volume checks a series (one orientation,
/// one size, no duplicate positions, near-uniform spacing). Throws Error(BadInput).
SourceSeries scan_source_series(const std::filesystem::path& path, const std::string& series_uid);

/// "1.2\\3.4" -> {1.2, 3.4} (empty when not numbers).
std::vector<double> parse_ds(const std::string& text);

/// A ds string of at most 16 characters.
std::string ds_text(double v);

/// read_volume on a SEG file: the label map on the frames' grid, with format "DICOM SEG" and the
/// segments in the metadata.
Volume read_seg_as_volume(const std::filesystem::path& path, VolumeFileInfo* info);

std::array<double, 3> cross3(const std::array<double, 3>& a, const std::array<double, 3>& b);

}  // namespace voxseg::io::detail
