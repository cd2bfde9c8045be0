#pragma once
#include <cstdint>
#include <string_view>

namespace voxseg::phantom::detail {

/// xoshiro256** seeded through splitmix64, with distributions implemented here so that the same
/// seed gives the same numbers with every standard library (std:: distributions are not portable).
class Rng {
 public:
  /// One independent stream per (seed, stream name): anatomy, noise, ... do not shift each other.
  Rng(uint64_t seed, std::string_view stream);

  uint64_t next_u64();
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Integer uniform in [lo, hi] (inclusive).
  int64_t uniform_int(int64_t lo, int64_t hi);
  /// Standard normal (Box-Muller, second value cached).
  double normal();
  double normal(double mean, double sd) { return mean + sd * normal(); }
  /// Poisson: multiplication method below 30, Hormann's transformed rejection (PTRS) above.
  int64_t poisson(double lambda);

 private:
  uint64_t s_[4];
  bool has_cached_ = false;
  double cached_ = 0.0;
};

/// splitmix64 step, also used to hash stream names into seeds.
uint64_t splitmix64(uint64_t& state);

}  // namespace voxseg::phantom::detail
