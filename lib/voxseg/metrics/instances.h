#pragma once
#include <optional>

#include "voxseg/core/json.h"
#include "voxseg/core/volume.h"

namespace voxseg::metrics {

/// Object-level scores when label values are instance ids (cells). docs/metrics.md defines them.
struct InstanceScores {
  int64_t n_pred = 0, n_ref = 0;
  int64_t tp = 0, fp = 0, fn = 0;  ///< matched pairs (IoU > 0.5), unmatched predicted, unmatched reference
  std::optional<double> precision, recall, f1;
  std::optional<double> mean_matched_iou;  ///< = segmentation quality SQ
  std::optional<double> pq;                ///< panoptic quality = SQ x RQ (RQ = F1)
  int64_t split = 0;   ///< reference objects each mostly holding 2+ predicted objects
  int64_t merged = 0;  ///< predicted objects each mostly holding 2+ reference objects
  std::optional<double> foreground_dice;  ///< all instances vs all instances (semantic)
};

/// Matches instances one-to-one at IoU > 0.5 (unique at that threshold). A predicted object p is
/// "inside" reference object r when |p ∩ r| >= 0.5 |p|; r is split when 2+ predicted objects are
/// inside it. Symmetrically p is a merge when 2+ reference objects r have |p ∩ r| >= 0.5 |r|.
/// Both empty: precision/recall/F1/PQ null. Throws Error(BadInput) for different grids.
InstanceScores evaluate_instances(const Volume& pred, const Volume& ref, int threads = 0);

Json to_json(const InstanceScores& s);

}  // namespace voxseg::metrics
