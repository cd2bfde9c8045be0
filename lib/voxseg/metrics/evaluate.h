#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/core/progress.h"
#include "voxseg/core/volume.h"

namespace voxseg::metrics {

/// What is scored: one label, or several merged ("liver=1,6").
struct Region {
  std::string name;             ///< label name from a table, the region's name, or the id as text
  std::vector<int64_t> values;  ///< label values making up the region (never 0)
};

/// Which points make a surface (docs/metrics.md).
enum class SurfaceMode {
  Voxels,   ///< MONAI / medpy: boundary voxel centres (mask minus its 6-connected erosion)
  Surfels,  ///< DeepMind surface-distance: marching-cubes surfels at voxel corners, area-weighted
};
/// How HD95 combines the two directions.
enum class Hd95Mode {
  MaxOfDirected,  ///< MONAI, DeepMind: larger of the two directed 95th percentiles
  Pooled,         ///< medpy, seg-metrics: 95th percentile of both directions' distances pooled
};

struct MetricOptions {
  SurfaceMode surface = SurfaceMode::Voxels;
  Hd95Mode hd95 = Hd95Mode::MaxOfDirected;
  bool surface_metrics = true;  ///< false: overlap and volumes only
  double tolerance_mm = 1.0;    ///< NSD tolerance
  /// Per-region NSD tolerance, keyed by region name or label id as text.
  std::map<std::string, double> tolerance_by_region;
  int threads = 0;  ///< <= 0: all available cores
};

/// Scores of one region in one case. Absent values (null in outputs) are std::nullopt.
struct RegionScores {
  std::string name;
  std::vector<int64_t> values;
  /// "" (both present), "absent" (in neither: left out of means), "missing" (only in the
  /// reference), "spurious" (only in the prediction).
  std::string flag;
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;  ///< voxels
  double pred_ml = 0, ref_ml = 0;
  std::optional<double> dice, iou, precision, recall, specificity;
  std::optional<double> hd, hd95, assd, asd_pred_to_ref, asd_ref_to_pred, nsd;
  double tolerance_mm = 0;
  /// Bounding box (z, y, x voxel indices, inclusive) of prediction and reference together; hi < lo when absent.
  std::array<int64_t, 3> bbox_lo{0, 0, 0}, bbox_hi{-1, -1, -1};
};

/// Per-voxel counts and bounding boxes in one pass over two label maps, then surface metrics per
/// region inside the union bounding box. pred and ref must share a grid (same size; geometry is
/// checked by the caller); label tensors of any integer or floating type (floats are rounded).
/// Throws Error(BadInput) for a shape mismatch or a non-scalar volume.
std::vector<RegionScores> evaluate_regions(const Volume& pred, const Volume& ref, const std::vector<Region>& regions,
                                           const MetricOptions& options, Progress progress = {});

/// Non-zero label values present in either volume, ascending.
std::vector<int64_t> present_labels(const Volume& a, const Volume& b);

/// Metric names in report order, and a value by name (nullopt when null).
const std::vector<std::string>& metric_names(bool surface_metrics);
std::optional<double> metric_value(const RegionScores& s, const std::string& name);

/// The definitions and conventions used, for reports ("convention", "hd95", "surface", ...).
Json describe_conventions(const MetricOptions& options);
/// One region's scores as JSON (nulls for absent values).
Json to_json(const RegionScores& s);

/// Sorted distances with weights, one direction. Exposed for tests.
struct DirectedDistances {
  std::vector<double> distance_mm;  ///< ascending
  std::vector<double> weight;       ///< 1 per voxel, or surfel area
};
/// Percentile rules. linear: position q (n - 1) interpolated (torch.quantile, np.percentile);
/// weighted: first distance whose cumulative weight fraction reaches q (DeepMind).
double percentile_linear(const std::vector<double>& sorted, double q);
double percentile_weighted(const DirectedDistances& d, double q);

}  // namespace voxseg::metrics
