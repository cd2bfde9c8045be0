#pragma once
// Internals of the train module shared by prepare.cpp and the training loop (not a public API).
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/core/progress.h"
#include "voxseg/core/volume.h"
#include "voxseg/models/bundle.h"
#include "voxseg/preprocess/plan.h"
#include "voxseg/train/augment.h"
#include "voxseg/train/dataset.h"
#include "voxseg/train/trainer.h"

namespace voxseg::train::detail {

struct LoadedCase {
  std::vector<Volume> images;
  Volume label;
};

std::array<double, 3> array_spacing_of(const Geometry& g);
LoadedCase read_case(const TrainCase& c);
at::Tensor stack_channels(const std::vector<Volume>& images);
/// Logs every problem (one line per case and problem) and throws Error(BadInput) when there are any.
void fail_on_problems(const Dataset& ds, const std::vector<CaseProblem>& problems);
/// The bundle (model.json) describing a planned run; "training" holds plan, fingerprint and splits.
models::ModelBundle bundle_spec(const PlannedRun& run, const TrainOptions& options);
/// The preprocessing predict applies for this plan (crop to non-zero, normalize, resample).
preprocess::Plan preprocess_plan(const TrainPlan& plan);
/// Preprocesses one case the way predict will: image via preprocess_case, labels cropped with the
/// same box and resampled with nearest neighbour (instances -> background/interior/boundary).
CaseArrays preprocess_arrays(const LoadedCase& lc, const TrainPlan& plan, bool instances, int64_t num_classes);
/// Key of a cached case: plan parts that change the arrays plus the input files' paths, sizes, times.
std::string cache_key(const TrainCase& c, const TrainPlan& plan, bool instances);
/// Preprocessed cases of `names`, from the cache when the key matches, else made and cached.
std::vector<CaseArrays> load_cached_cases(const Dataset& ds, const std::vector<std::string>& names, const TrainPlan& plan,
                                          const std::filesystem::path& cache_dir, int64_t num_classes, uint64_t seed,
                                          Progress progress);

}  // namespace voxseg::train::detail
