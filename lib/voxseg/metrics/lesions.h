#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/core/volume.h"
#include "voxseg/metrics/evaluate.h"

namespace voxseg::metrics {

/// Lesion-wise evaluation (BraTS 2023 lesion-wise Dice/HD95, autoPET FP/FN volumes, detection
/// counts). Definitions in docs/metrics.md#lesion-wise.
struct LesionOptions {
  std::vector<Region> regions;  ///< lesion labels (each a label or merged region); empty: off
  int connectivity = 26;        ///< of lesion components: 6, 18 or 26 (BraTS: 26)
  std::optional<double> iou;    ///< match at IoU > t; unset: any overlap (BraTS, autoPET)
  double min_ml = 0;            ///< reference and predicted components below this volume are ignored
  int dilate = 0;               ///< any-overlap mode: reference lesions dilated by N voxels (18-neighbourhood) to match
};

/// One connected component. Reference lesions carry their Dice/HD95 against the union of their
/// matched predicted components; predicted components carry whether they matched (Dice 0 when not).
struct Lesion {
  std::string side;          ///< "ref" or "pred"
  int64_t id = 0;            ///< component number in raster order of first voxel (per side)
  double volume_ml = 0;
  bool matched = false;
  int64_t partners = 0;      ///< matched components of the other side
  double partner_ml = 0;     ///< volume of the union of those partners
  std::optional<double> dice, hd95;  ///< ref lesions; unmatched predicted: 0 and the penalty
  std::array<int64_t, 3> centre{0, 0, 0};  ///< voxel index (x, y, z) of the bounding box centre
};

struct LesionScores {
  std::string name;
  std::vector<int64_t> values;
  std::string flag;  ///< "absent" when neither side has a lesion (scores null)
  int64_t n_ref = 0, n_pred = 0, tp = 0, fp = 0, fn = 0;  ///< tp/fn: reference lesions; fp: predicted components
  int64_t ignored_ref = 0, ignored_pred = 0;              ///< components under min_ml
  std::optional<double> sensitivity, precision, f1;
  std::optional<double> lesion_dice, lesion_hd95;  ///< mean over reference lesions + false positives
  double fp_volume_ml = 0, fn_volume_ml = 0;       ///< autoPET: components with no overlap at all
  double penalty_mm = 0;                           ///< HD95 of a missed or false-positive lesion
  std::vector<Lesion> lesions;
};

/// Scores one lesion region. pred and ref share a grid; surface mode and HD95 rule from `metrics`
/// (no HD95 when surface_metrics is false). Throws Error(BadInput) for different grids.
LesionScores evaluate_lesions(const Volume& pred, const Volume& ref, const Region& region, const LesionOptions& options,
                              const MetricOptions& metrics);

/// "3,tumor,2" -> regions: label ids, names from the label table, or names of --regions.
/// Throws Error(Usage) for an unknown name or a bad id.
std::vector<Region> parse_lesion_labels(const std::string& text, const std::map<int64_t, std::string>& names,
                                        const std::vector<Region>& regions);
/// "any" or "iou:0.5" -> unset or the threshold. Throws Error(Usage).
std::optional<double> parse_lesion_match(const std::string& text);

/// Fills o.regions and o.iou from --lesions/--lesion-match text (nothing when `labels` is empty) and
/// checks the combination: Error(Usage) for --lesions with instances, --lesion-dilate with an IoU
/// rule, or lesion options/--lesion-csv without --lesions.
void configure_lesions(LesionOptions& o, const std::string& labels, const std::string& match,
                       const std::map<int64_t, std::string>& names, const std::vector<Region>& regions, bool instances,
                       bool lesion_csv);

Json to_json(const LesionScores& s);
/// Definitions and parameters, for the conventions block.
Json describe_lesions(const LesionOptions& options);

}  // namespace voxseg::metrics
