#pragma once
#include <cstddef>
#include <string>

namespace voxseg::metrics {

/// The one intensity window of an image's QC pictures (every crop and context view of the case).
struct DisplayWindow {
  double level = 0, width = 1;
  std::string name;    ///< "abdomen", "-600,1500", "percentile 0.5-99.5"
  std::string reason;  ///< why this one: "CT (label table)", "--report-window", "not CT (intensity range)"
  double lo() const { return level - width / 2; }
  double hi() const { return level + width / 2; }
  /// "window 40/400 (abdomen; CT (label table))", as the report prints it.
  std::string caption() const;
};

/// Checks a --report-window value: auto, abdomen, lung, bone, brain, LEVEL,WIDTH or percentile.
/// Throws Error(Usage) otherwise.
void check_report_window(const std::string& spec);

/// True when the intensities read as CT Hounsfield units: air present (0.5th percentile <= -500)
/// and nothing below -3100 or above the 99.5th percentile of 4000 (scanner padding -1024..-3024
/// is allowed). MR, microscopy and normalised images have no such values.
bool looks_like_ct(const float* values, size_t n);

/// The window for an image of n voxels. spec "auto": CT (modality "CT", or no modality and
/// looks_like_ct) gets the abdomen preset, anything else the 0.5-99.5 percentiles of the whole
/// image; a preset or LEVEL,WIDTH is used as given; "percentile" forces percentiles.
/// modality: "CT", "MR", another non-empty word (not CT) or "" (unknown: decided by intensities);
/// modality_source names where it came from ("label table", "DICOM"). Volumes over 4 M voxels are
/// sampled at a fixed stride for the percentiles (deterministic).
DisplayWindow choose_window(const std::string& spec, const float* values, size_t n, const std::string& modality,
                            const std::string& modality_source);

}  // namespace voxseg::metrics
