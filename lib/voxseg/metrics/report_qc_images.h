#pragma once
#include <map>
#include <string>
#include <vector>

#include "voxseg/core/volume.h"
#include "voxseg/metrics/display_window.h"
#include "voxseg/metrics/evaluation.h"
#include "voxseg/metrics/report_plots.h"

namespace voxseg::metrics {

/// Contour colours of the QC pictures (the report's legend names them).
inline constexpr Rgb kReferenceColour{30, 210, 30};   ///< green
inline constexpr Rgb kPredictionColour{240, 50, 50};  ///< red
inline constexpr Rgb kBothColour{240, 210, 30};       ///< yellow: the contours coincide
inline constexpr Rgb kCropBoxColour{0, 200, 255};     ///< cyan: the crop's box in the context view

/// A colour per label value for labels the table gives none (a fixed palette by value).
Rgb default_label_colour(int64_t value);

/// QC pictures per scored region: slices through the region's largest cross-section (per axis, the
/// slice of its bounding box with most of its voxels), cropped around the box, with reference and prediction contours
/// over the image (black when image is null), all in the one `window`; and per view a small whole-slice context picture
/// with the region filled in its colour (`colours` by region name) and the crop's box drawn.
std::vector<QcPanel> render_qc_panels(const Volume* image, const DisplayWindow& window, const Volume& pred,
                                      const Volume& ref, const std::vector<Region>& regions,
                                      const std::vector<RegionScores>& scores,
                                      const std::map<std::string, Rgb>& colours);

}  // namespace voxseg::metrics
