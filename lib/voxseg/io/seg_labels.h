#pragma once
// How label values become DICOM SEG segments: the table of well-known label names with their
// SNOMED CT codes (the one place they live; listed in docs/dicom.md), default colours, and
// label-table files (model.json, nnU-Net dataset.json, phantom.json, or a plain labels file).
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "voxseg/io/dicom_seg.h"

namespace voxseg::io {

/// A segment for label `label` named `name` (empty: "label N"), with `color` (default: a fixed
/// palette by label) and `code` as its property type when given; otherwise the type, category and
/// anatomic region come from the well-known name table (liver, kidney_left, liver_tumor, ...), or
/// the generic "Tissue" concept when the name is unknown.
SegmentInfo default_segment(int64_t label, const std::string& name = "",
                            const std::optional<std::array<int, 3>>& color = std::nullopt,
                            const std::optional<CodedConcept>& code = std::nullopt);

/// Segments from a label-table file: a model bundle folder or model.json ("labels": [{id, name,
/// color?, snomed?}]), a phantom.json (same entries), an nnU-Net dataset.json ("labels": {name: id}),
/// or {"labels": {"1": "liver"}}. Entries are read strictly: an unknown key fails with its path
/// ("t.json: labels[2].colour: unknown key"). Label 0 (background) is left out.
/// Throws Error(BadInput) naming the file and the problem.
std::vector<SegmentInfo> read_seg_label_table(const std::filesystem::path& file);

/// Every well-known name with its property type, category and anatomic region (for docs and tests).
struct KnownLabel {
  std::string name;
  CodedConcept category, type;
  std::optional<CodedConcept> region;
};
const std::vector<KnownLabel>& known_labels();

/// RGB (0..255) <-> DICOM CIELab (0..65535 each), as RecommendedDisplayCIELabValue stores colours.
std::array<int, 3> rgb_to_dicom_lab(const std::array<int, 3>& rgb);
std::array<int, 3> dicom_lab_to_rgb(const std::array<int, 3>& lab);

}  // namespace voxseg::io
