#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace voxseg {

/// The q-quantile (q in [0, 1]) of ascending `sorted` values by linear interpolation between the
/// closest ranks (numpy's default percentile, torch.quantile); NaN when empty.
inline double percentile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double pos = q * double(sorted.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace voxseg
