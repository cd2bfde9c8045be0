#include "voxseg/train/detail/stored_plan.h"

#include "voxseg/core/error.h"
#include "voxseg/core/json_fields.h"

namespace fs = std::filesystem;

namespace voxseg::train::detail {
namespace {

// training.splits as written by bundle_spec: [{"train": [names], "val": [names]}, ...].
std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> splits_from_json(const Json& j,
                                                                                            const std::string& path) {
  if (!j.is_array()) json::field_error(path, "expected a list of {\"train\", \"val\"} objects, one per fold");
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string f = json::index_field(path, i);
    const Json& fold = j.as_array()[i];
    json::require_object(fold, f);
    json::reject_unknown_members(fold, {"train", "val"}, f);
    out.emplace_back(json::read_string_list(json::require_member(fold, "train", f), json::join_field(f, "train")),
                     json::read_string_list(json::require_member(fold, "val", f), json::join_field(f, "val")));
  }
  return out;
}

}  // namespace

std::optional<PlannedRun> plan_of_bundle(const Json& j, const Dataset& ds, const std::string& source) {
  const Json* t = j.find("training");
  if (!t || !t->find("plan")) return std::nullopt;
  PlannedRun run;
  run.dataset = ds;
  try {
    run.plan = plan_from_json(*t->find("plan"), "training.plan");
    if (const Json* f = t->find("fingerprint")) run.fingerprint = fingerprint_from_json(*f, "training.fingerprint");
    if (const Json* s = t->find("splits")) run.splits = splits_from_json(*s, "training.splits");
  } catch (const std::exception& e) {
    fail(ExitCode::BadModel, "invalid plan in '{}': {}", source, e.what());
  }
  run.plan.network.num_classes = ds.instances ? 3 : ds.labels.back().id + 1;
  if (int64_t(ds.channel_names.size()) != run.plan.network.in_channels)
    fail(ExitCode::BadModel, "invalid plan in '{}': field 'training.plan.normalization': {} entries for {} channels",
         source, run.plan.network.in_channels, ds.channel_names.size());
  return run;
}

std::optional<PlannedRun> stored_plan(const fs::path& output, const Dataset& ds) {
  const fs::path file = output / "model.json";
  if (!fs::exists(file)) return std::nullopt;
  return plan_of_bundle(read_json_file(file.string(), ExitCode::BadModel), ds, file.string());
}

std::pair<std::vector<std::string>, std::vector<std::string>> fold_cases(const TrainOptions& o, const Dataset& ds,
                                                                         const PlannedRun& run) {
  std::vector<std::string> train_names, val_names;
  if (o.fold < 0) {
    for (const auto& c : ds.cases) train_names.push_back(c.name);
  } else {
    if (o.fold >= int(run.splits.size()))
      fail(ExitCode::Usage,
           "fold {} does not exist: the dataset has {} cases split into {} folds (use --fold all for all cases)",
           o.fold, ds.cases.size(), run.splits.size());
    train_names = run.splits[size_t(o.fold)].first;
    val_names = run.splits[size_t(o.fold)].second;
    if (o.max_val_cases > 0 && int64_t(val_names.size()) > o.max_val_cases) val_names.resize(size_t(o.max_val_cases));
  }
  return {train_names, val_names};
}

}  // namespace voxseg::train::detail
