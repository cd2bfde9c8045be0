// Training entry points. The loop itself is detail::Trainer (detail/trainer_loop.h); batches:
// detail/batch_loader.h; checkpoints: detail/checkpoint_state.h; rank agreement: detail/rank_sync.h.
#include "voxseg/train/trainer.h"

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/heap_reuse.h"
#include "voxseg/models/bundle.h"
#include "voxseg/train/detail/prepare.h"
#include "voxseg/train/detail/trainer_loop.h"

namespace fs = std::filesystem;

namespace voxseg::train {

void write_planned_bundle(const PlannedRun& run, const TrainOptions& o) {
  std::error_code ec;
  fs::create_directories(o.output, ec);
  if (ec) fail(ExitCode::CannotWrite, "cannot create output folder '{}': {}", o.output.string(), ec.message());
  write_text_atomic(o.output / "model.json", models::bundle_to_json(detail::bundle_spec(run, o)).dump(2) + "\n", o.force);
}

TrainResult run_training(const TrainOptions& options, Progress progress) {
  HeapReuse heap;  // activations and gradients of every step reuse the previous step's memory
  return detail::Trainer(options, std::move(progress)).run();
}

}  // namespace voxseg::train
