#pragma once
// Peak-memory helpers shared by the benchmarks that report resident memory (VmHWM).
#include <malloc.h>

#include <fstream>

namespace voxseg::bench {

/// Resets VmHWM (Linux >= 4.0) so each measurement has its own peak. Freed heap goes back to the
/// system first, so the new peak is not the previous run's leftovers.
inline void reset_peak_rss() {
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
}

inline double mb(double bytes) { return bytes / (1024.0 * 1024.0); }

}  // namespace voxseg::bench
