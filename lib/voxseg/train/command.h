#pragma once
// `voxseg train` beyond its flags: the plan/run action word, --fold, and what each action reports
// (apps/voxseg-train.cpp only parses the flags and prints the report).
#include <string>
#include <vector>

#include "voxseg/core/error.h"
#include "voxseg/core/json.h"
#include "voxseg/core/progress.h"
#include "voxseg/train/trainer.h"

namespace voxseg::train {

/// The action of `voxseg train [plan|run] DATASET`.
enum class TrainAction { Plan, Run };

/// Splits the positional arguments `[plan|run] DATASET` (no action word: run) and stores the
/// dataset in `dataset`. Throws Error(Usage) unless exactly one dataset is left.
TrainAction parse_train_arguments(std::vector<std::string> positional, std::string& dataset);

/// --fold: a fold number, or "all" (-1: every case, no validation). Throws Error(Usage).
int parse_fold(const std::string& text);

/// What an action prints: `fields` go into the result object after the provenance, `text` is the
/// human line. `print` is off for an interrupted run (its warning says it all).
struct TrainReport {
  Json fields = Json::object();
  std::string text;
  ExitCode code = ExitCode::Ok;
  bool print = true;
};

/// --check-only: validates every case of options.dataset; code BadInput when any has a problem.
TrainReport check_dataset(const TrainOptions& options, Progress progress = {});
/// `plan`: plans the run and writes OUT/model.json. Throws Error(Usage) without an output folder.
TrainReport plan_run(const TrainOptions& options, Progress progress = {});
/// `run`: trains (ranks from the options or the environment); code 128 + signal when interrupted.
/// Throws Error(Usage) without an output folder.
TrainReport train_run(TrainOptions options, Progress progress = {});

/// The reports of the three actions from their results (exposed for tests).
TrainReport check_report(const std::string& dataset, const Dataset& ds, const DatasetScan& scan);
TrainReport plan_report(const PlannedRun& run, const TrainOptions& options);
TrainReport training_report(const TrainResult& result, const TrainOptions& options);

}  // namespace voxseg::train
