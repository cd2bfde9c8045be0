#include "voxseg/train/detail/batch_loader.h"

#include <algorithm>
#include <random>

extern "C" void omp_set_num_threads(int);  // libgomp, which LibTorch uses for intra-op threads

namespace voxseg::train::detail {

Batch make_batch(const std::vector<CaseArrays>& cases, const std::array<int64_t, 3>& patch, int64_t batch,
                 const AugmentOptions& aug, uint64_t seed, int64_t step) {
  const uint64_t step_seed = mix_seed(seed, uint64_t(step));
  std::mt19937_64 rng(step_seed);
  std::vector<Sample> samples;
  for (int64_t b = 0; b < batch; ++b) {
    const size_t ci = size_t(rng() % cases.size());
    samples.push_back(make_sample(cases[ci], patch, aug, mix_seed(step_seed, uint64_t(b) + 1000)));
  }
  return collate(samples);
}

BatchLoader::BatchLoader(const std::vector<CaseArrays>& cases, std::array<int64_t, 3> patch, int64_t batch,
                         AugmentOptions aug, uint64_t seed, int workers, int prefetch, int64_t first_step)
    : cases_(cases), patch_(patch), batch_(batch), aug_(std::move(aug)), seed_(seed),
      prefetch_(std::max(1, prefetch)), next_make_(first_step), next_take_(first_step) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Batch BatchLoader::get(int64_t step) {
  if (threads_.empty()) return make_batch(cases_, patch_, batch_, aug_, seed_, step);
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return ready_.count(step) || error_; });
  if (error_) std::rethrow_exception(error_);
  Batch b = std::move(ready_[step]);
  ready_.erase(step);
  next_take_ = step + 1;
  cv_.notify_all();
  return b;
}

void BatchLoader::work() {
  omp_set_num_threads(1);  // augmentation runs single-threaded per worker: no oversubscription
  for (;;) {
    int64_t step;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || next_make_ < next_take_ + prefetch_; });
      if (stop_) return;
      step = next_make_++;
    }
    try {
      Batch b = make_batch(cases_, patch_, batch_, aug_, seed_, step);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_[step] = std::move(b);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

}  // namespace voxseg::train::detail
