#pragma once
// DICOM Segmentation (SEG) objects: writing a label map as a binary SEG over the series it was
// computed on, and reading SEG (binary or fractional) back as a label map. No DCMTK types here, so
// predict and a PACS listener can call it in-process. See docs/dicom.md.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "voxseg/core/coded_concept.h"
#include "voxseg/core/volume.h"

namespace voxseg::io {

/// One segment of a SEG: the label value it stands for and how it is described.
struct SegmentInfo {
  int64_t label = 0;  ///< value in the label map
  std::string name;   ///< SegmentLabel
  std::optional<std::array<int, 3>> color;  ///< RGB 0..255 (written as RecommendedDisplayCIELabValue)
  CodedConcept category, type;              ///< SegmentedPropertyCategory/Type
  std::optional<CodedConcept> anatomic_region;
};

/// Who made the segmentation (SegmentAlgorithmName, Segmentation Algorithm Identification).
struct SegAlgorithm {
  std::string name;        ///< SegmentAlgorithmName, e.g. the model's name (empty: "voxseg")
  std::string version;     ///< voxseg version (empty: this build's)
  std::string parameters;  ///< AlgorithmParameters, e.g. "model_sha256=..." (empty: not written)
};

struct SegWriteOptions {
  std::string series_uid;  ///< reference folder with several series: which one (default: most slices)
  /// Non-empty: SeriesInstanceUID/SOPInstanceUID derived from it and fixed dates/times, so the same
  /// input gives byte-identical files. Empty: fresh UIDs and the current date/time.
  std::string uid_seed;
  std::string series_description = "voxseg segmentation";
  bool resample = false;   ///< label map on another grid: nearest neighbour onto the series (else exit 3)
  bool overwrite = false;
};

/// Writes `labels` ([Z,Y,X] integers, any voxel order on the series' physical grid) as a binary
/// DICOM SEG referencing the DICOM series in `series_dir` (a folder, or one of its files): one
/// segment per label present (described by `segments` when listed there, else by
/// default_segment()), one frame per segment and source slice holding that label. Atomic.
/// Throws Error: BadInput (not a series, multi-frame source, grid differs without resample, no
/// label present), CannotWrite (exists without overwrite, folder missing).
void write_dicom_seg(const Volume& labels, const std::filesystem::path& series_dir,
                     const std::vector<SegmentInfo>& segments, const SegAlgorithm& algorithm,
                     const std::filesystem::path& out, const SegWriteOptions& options);

/// The checks write_dicom_seg makes on `out` before any heavy work (Error(CannotWrite)).
void check_seg_output(const std::filesystem::path& out, bool overwrite);

/// What a SEG holds, for `voxseg info` and reports.
struct SegSegment {
  int64_t number = 0;  ///< SegmentNumber
  int64_t label = 0;   ///< value it gets in the label map
  std::string name, algorithm_type, algorithm_name;
  CodedConcept category, type;
  std::optional<std::array<int, 3>> color;
  int64_t frames = 0;
};
struct SegInfo {
  std::string segmentation_type;  ///< BINARY or FRACTIONAL
  int64_t frames = 0;
  int rows = 0, columns = 0;
  std::string series_uid, referenced_series_uid, frame_of_reference_uid, description, manufacturer;
  std::vector<SegSegment> segments;
  std::string grid;               ///< "reference series" or "frames"
  int64_t overlapping_voxels = 0;
};

/// True when `path` is a DICOM file of the Segmentation Storage SOP class.
bool is_dicom_seg_file(const std::filesystem::path& path);

/// Reads a SEG as a label map (uint8, or int32 when a label exceeds 255). With `reference_dir`
/// (the source series) the map is on the series' grid, frames placed by position; without it, on
/// the grid the frames span (their orientation and pixel spacing; slices from the lowest to the
/// highest frame position, at the spacing between frames). Fractional frames count where the
/// value is at least half the maximum. Overlaps: the later segment wins (warned with a count).
/// Label values: voxseg's own SEGs keep the label map's values; others use the segment number.
/// Throws Error(BadInput) naming the file and the problem.
Volume read_dicom_seg(const std::filesystem::path& seg, const std::optional<std::filesystem::path>& reference_dir,
                      SegInfo* info = nullptr);

/// Heuristic for refusing to write a label map as a plain DICOM image series: integer voxels in
/// 0..65535, at most 128 distinct values, and at least 10% of the voxels 0 (background).
bool looks_like_label_map(const Volume& volume);

/// `labels` on the grid `target` as int32 [Z,Y,X] (values 0..65535, else Error(BadInput)):
/// unchanged when the geometries agree; reordered (no interpolation) when it is the same physical
/// grid with flipped or permuted axes; nearest neighbour when `resample`; otherwise
/// Error(BadInput) saying how the grids differ. `what` names
/// the label map in messages ("the label map").
at::Tensor labels_on_grid(const Volume& labels, const Geometry& target, bool resample, const std::string& what);

}  // namespace voxseg::io
