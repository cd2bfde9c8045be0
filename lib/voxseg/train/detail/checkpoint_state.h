#pragma once
// checkpoint_latest.pt / checkpoint_best.pt: weights, optimizer state and where the run stands, so
// that --resume continues exactly where an interrupted run stopped.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/models/unet.h"

namespace torch::optim {
class Optimizer;
}

namespace voxseg::train::detail {

/// Where a run stands, stored as the checkpoint's "meta" JSON (keys as below, in this order).
struct CheckpointMeta {
  int64_t epoch = 0;      ///< epochs finished
  int64_t iteration = 0;  ///< steps of the next epoch already taken (0 at an epoch boundary)
  double loss_sum = 0, partial_seconds = 0;  ///< of the epoch in progress
  double partial_wait_seconds = 0, partial_step_seconds = 0, partial_comm_seconds = 0;
  double ema = std::nan("");  ///< smoothed validation Dice (NaN before the first validation)
  double best_ema = -1;
  int64_t best_epoch = -1;
  uint64_t seed = 0;
  int64_t iterations_per_epoch = 0;
  int fold = 0;
  int world_size = 1;
  std::vector<Json> rows;  ///< training_log rows so far
};

Json checkpoint_meta_to_json(const CheckpointMeta& meta);
/// Checkpoints of older versions lack the partial_*_seconds and world_size keys (read as 0 and 1).
/// Throws std::invalid_argument "field '<key>': ..." for a missing or mistyped key.
CheckpointMeta checkpoint_meta_from_json(const Json& json);

/// Writes the checkpoint atomically. Throws Error(CannotWrite).
void save_checkpoint(const std::filesystem::path& path, models::UNet& net, torch::optim::Optimizer& opt,
                     const CheckpointMeta& meta);
/// Loads weights and optimizer state into `net` and `opt` from the file or, on ranks > 0, from the
/// bytes rank 0 read from it (`bytes` non-null). Throws Error(BadModel) naming `path`.
CheckpointMeta load_checkpoint(const std::filesystem::path& path, const std::string* bytes, models::UNet& net,
                               torch::optim::Optimizer& opt);
/// The checkpoint file's bytes (rank 0 sends them to the other ranks). Throws Error(BadModel).
std::string read_checkpoint_bytes(const std::filesystem::path& path);

}  // namespace voxseg::train::detail
