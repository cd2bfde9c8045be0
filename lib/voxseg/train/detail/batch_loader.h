#pragma once
// Training batches made by worker threads; each batch depends only on (seed, step), so a resumed or
// multi-worker run draws exactly the batches of an uninterrupted single-threaded one.
#include <ATen/core/Tensor.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "voxseg/train/augment.h"

namespace voxseg::train::detail {

using Batch = std::pair<at::Tensor, at::Tensor>;  ///< images [B,C,Z,Y,X], labels

/// The batch of `step`: `batch` samples from random cases of `cases`, augmented, seeded by (seed, step).
Batch make_batch(const std::vector<CaseArrays>& cases, const std::array<int64_t, 3>& patch, int64_t batch,
                 const AugmentOptions& aug, uint64_t seed, int64_t step);

/// Makes the batches of steps first_step, first_step + 1, ... ahead of time on `workers` threads
/// (inline when 0), at most `prefetch` ahead of the step taken. `cases` must outlive the loader.
class BatchLoader {
 public:
  BatchLoader(const std::vector<CaseArrays>& cases, std::array<int64_t, 3> patch, int64_t batch, AugmentOptions aug,
              uint64_t seed, int workers, int prefetch, int64_t first_step);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// The batch of `step` (steps are taken in order); rethrows a worker's error.
  Batch get(int64_t step);

 private:
  void work();

  const std::vector<CaseArrays>& cases_;
  std::array<int64_t, 3> patch_;
  int64_t batch_;
  AugmentOptions aug_;
  uint64_t seed_;
  int64_t prefetch_;
  int64_t next_make_, next_take_;
  bool stop_ = false;
  std::exception_ptr error_;
  std::map<int64_t, Batch> ready_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
};

}  // namespace voxseg::train::detail
