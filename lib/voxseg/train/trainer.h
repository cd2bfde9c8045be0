#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/core/progress.h"
#include "voxseg/train/augment.h"
#include "voxseg/train/dataset.h"
#include "voxseg/train/distributed.h"
#include "voxseg/train/plan.h"

namespace voxseg::train {

/// Everything `voxseg train` can set (docs/train.md). Defaults follow nnU-Net where it has one.
struct TrainOptions {
  std::string dataset;       ///< nnU-Net folder or CSV file
  std::string dataset_json;  ///< CSV only: channel names and labels
  std::filesystem::path output;  ///< the bundle folder (also holds checkpoints and logs)
  std::filesystem::path cache;   ///< preprocessed arrays; default <output>/cache
  bool instances = false;        ///< force instance mode (cells) even if dataset.json does not say so
  int folds = 5;
  int fold = 0;                  ///< -1: train on all cases, no validation
  int64_t epochs = 100;
  int64_t iterations_per_epoch = 250;
  int64_t val_every = 1;         ///< validate every N epochs (and after the last)
  int64_t max_val_cases = 0;     ///< 0: every held-out case
  std::string optimizer = "sgd";  ///< "sgd" (Nesterov, momentum 0.99) | "adamw"
  double lr = 0.01;
  double weight_decay = 3e-5;
  double grad_clip = 12.0;
  std::string precision = "fp32";  ///< "fp32" | "bf16"
  std::string device = "auto";     ///< as predict: GPU 0 when usable, else the CPU
  uint64_t seed = 0;
  int workers = 1;    ///< background batch-loader threads
  int prefetch = 4;   ///< batches made ahead
  bool resume = false;
  bool force = false;
  std::string name, description;
  PlanOptions plan;
  AugmentOptions augment;
  /// Several processes (world size > 1): data-parallel over Gloo; resolve_distributed() fills it from
  /// the command line and the environment. World size 0 or 1: one process, no process group.
  DistributedOptions distributed;
};

/// The result of planning (also stored in model.json under "training").
struct PlannedRun {
  Dataset dataset;
  Fingerprint fingerprint;
  TrainPlan plan;
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> splits;  ///< (train, val) per fold
};

/// k-fold split of case names (sorted, shuffled with a fixed seed 12345 as nnU-Net does).
std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> make_splits(std::vector<std::string> names,
                                                                                      int folds);

/// Reads every case once: validation problems and the fingerprint (foreground intensities sampled,
/// up to 10000 voxels per case and channel, seeded).
struct DatasetScan {
  std::vector<CaseProblem> problems;
  Fingerprint fingerprint;
};
DatasetScan scan_dataset(const Dataset& dataset, Progress progress = {});

/// Validates, fingerprints and plans. Throws Error(BadInput) if the dataset has problems (each one
/// logged on its own line first).
PlannedRun plan_training(const TrainOptions& options, Progress progress = {});

/// Writes <output>/model.json for a planned run (no weights yet): "training.plan" can be edited before
/// `run`. Throws Error(CannotWrite) if model.json exists and options.force is off.
void write_planned_bundle(const PlannedRun& run, const TrainOptions& options);

/// Outcome of a run.
struct TrainResult {
  int64_t epochs_done = 0;
  bool interrupted = false;
  int signal = 0;           ///< the signal that interrupted the run (exit 128 + signal)
  double final_train_loss = 0;
  std::vector<double> final_val_dice;  ///< per foreground label (NaN: absent)
  double best_ema_dice = -1;
  int64_t best_epoch = -1;
  Json summary = Json::object();
  int rank = 0, world_size = 1;    ///< this process's place in a multi-process run
  std::string parameters_sha256;   ///< of the final weights' float bytes: the same on every rank
};

/// Trains (planning first when <output>/model.json has no plan), writes checkpoints every epoch,
/// logs (training_log.csv/json, training_curve.svg) and finally the bundle (model.json + weights).
/// SIGINT/SIGTERM: the current step finishes, a checkpoint is saved, and the result says interrupted.
/// With options.distributed.world_size > 1 every rank runs this: each samples its own batches, the
/// gradients are averaged over ranks before clipping, validation is shared out, and only rank 0
/// writes files (the others only the cache). Throws Error(BadInput) for dataset problems,
/// Error(CannotWrite) for an existing run without --resume/--force, Error(BadModel) for an unusable
/// checkpoint, Error(Network) when a rank fails, vanishes or times out (on every other rank).
TrainResult run_training(const TrainOptions& options, Progress progress = {});

/// Writes the per-epoch log as CSV, JSON and an SVG training curve into `dir` (atomically).
void write_training_logs(const std::filesystem::path& dir, const std::vector<Json>& rows);

/// The SVG training curve (train loss, validation Dice and its moving average) for log rows.
std::string training_curve_svg(const std::vector<Json>& rows);

}  // namespace voxseg::train
