#pragma once
// The training run behind run_training(), one phase per member function: setup (outputs, dataset,
// plan, cases, network), resume (checkpoint), train_epoch (steps, then validate) and finish (bundle).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/core/progress.h"
#include "voxseg/core/stop_signal.h"
#include "voxseg/models/bundle.h"
#include "voxseg/models/unet.h"
#include "voxseg/train/detail/batch_loader.h"
#include "voxseg/train/detail/checkpoint_state.h"
#include "voxseg/train/distributed.h"
#include "voxseg/train/trainer.h"

namespace torch::optim {
class Optimizer;
}

namespace voxseg::train::detail {

class Trainer {
 public:
  Trainer(const TrainOptions& options, Progress progress);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// The whole run: setup, resume, epochs, finish (run_training's contract, trainer.h).
  TrainResult run();

 private:
  // Setup, in this order on every rank: outputs, dataset and plan (rank 0; the others receive
  // them), the preprocessed cases, then network and optimizer.
  void setup();
  void setup_lead(Progress& prepare);
  void setup_follower();
  void load_cases(Progress& prepare);
  void build_network();
  /// Restores the checkpoint with --resume; then every rank takes rank 0's weights.
  void resume();
  /// Steps of one epoch, validation when due, the log row and the checkpoint. False: stopped by a
  /// signal (result_ says so).
  bool train_epoch(int64_t epoch);
  /// One optimizer step (gradients averaged over ranks); returns the stop signal all ranks agree on.
  int train_step(int64_t epoch, int64_t iteration);
  /// Scores the held-out cases into `row`; keeps checkpoint_best.pt at the best smoothed Dice.
  void validate(int64_t epoch, Json& row);
  /// Saves the checkpoint of a stop agreed by all ranks and fills result_ as interrupted.
  void stop(int signal, int64_t epoch, int64_t next_iteration, int64_t epochs_done);
  /// The bundle of the final weights (rank 0) and the result.
  TrainResult finish();
  CheckpointMeta meta_at(int64_t epoch, int64_t iteration) const;

  const TrainOptions& o_;
  Progress progress_;
  std::unique_ptr<ProcessGroup> group_;  ///< world size > 1 only
  int rank_ = 0, world_ = 1;
  bool lead_ = true;  ///< rank 0: validates (with the others), writes logs, checkpoints and the bundle
  std::filesystem::path latest_, best_;

  Dataset ds_;
  PlannedRun run_;
  models::ModelBundle planned_spec_;
  std::vector<std::string> train_names_, val_names_;
  std::string checkpoint_bytes_;                     ///< ranks > 0 when resuming: rank 0's checkpoint
  std::vector<CaseArrays> train_cases_, val_cases_;  ///< val: this rank's share
  std::vector<std::string> label_names_;

  std::optional<c10::Device> device_;
  models::Precision precision_ = models::Precision::FP32;
  std::unique_ptr<models::UNet> net_;
  std::vector<at::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> opt_;

  CheckpointMeta state_;  ///< where the run stands; checkpointed at every epoch end and at a stop
  int64_t start_epoch_ = 0, start_iter_ = 0;
  std::optional<StopSignalScope> signals_;
  std::unique_ptr<BatchLoader> loader_;
  Progress train_progress_;
  TrainResult result_;
};

}  // namespace voxseg::train::detail
