#pragma once
// Validation during training: the held-out cases through the sliding-window engine, scored by Dice.
#include <cstdint>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/models/unet.h"
#include "voxseg/train/augment.h"
#include "voxseg/train/plan.h"

namespace voxseg::train::detail {

/// Dice summed per foreground label over some cases, and the number of cases where the label counts
/// (absent in both prediction and reference: left out). Sums, so that ranks can add their shares.
struct DiceSums {
  std::vector<double> sum, count;
};

/// Dice sums of `cases` (whole images, no mirroring); stops early once stop_signal() is set. Leaves
/// the network in training mode.
DiceSums validation_dice(models::UNet& net, models::Precision precision, const std::vector<CaseArrays>& cases,
                         const TrainPlan& plan, int64_t num_classes);

/// Mean Dice per label (NaN where no case counts).
std::vector<double> dice_means(const DiceSums& sums);
/// Mean of the finite values (NaN if none).
double finite_mean(const std::vector<double>& values);
/// A number, or null for NaN/inf (JSON has no NaN).
Json number_or_null(double value);

}  // namespace voxseg::train::detail
