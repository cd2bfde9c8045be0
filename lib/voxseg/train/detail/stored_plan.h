#pragma once
// The planned run a bundle's model.json holds (written by `train plan`, possibly edited by the user),
// and the cases of the fold being trained.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/train/dataset.h"
#include "voxseg/train/trainer.h"

namespace voxseg::train::detail {

/// The planned run described by model.json's "training" (plan, fingerprint, splits) for dataset `ds`,
/// or nullopt when it has no plan. Throws Error(BadModel) naming `source` and the field.
std::optional<PlannedRun> plan_of_bundle(const Json& model_json, const Dataset& ds, const std::string& source);

/// The planned run stored in <output>/model.json, or nullopt (no file, or no plan in it).
std::optional<PlannedRun> stored_plan(const std::filesystem::path& output, const Dataset& ds);

/// Training and validation case names of options.fold (fold -1: every case, no validation); at most
/// options.max_val_cases validation cases. Throws Error(Usage) for a fold the split does not have.
std::pair<std::vector<std::string>, std::vector<std::string>> fold_cases(const TrainOptions& options, const Dataset& ds,
                                                                         const PlannedRun& run);

}  // namespace voxseg::train::detail
