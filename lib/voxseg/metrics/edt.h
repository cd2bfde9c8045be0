#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

namespace voxseg::metrics {

/// Shape of a dense [Z,Y,X] buffer (x fastest). A 2D grid has z == 1.
struct Grid {
  std::array<int64_t, 3> shape{1, 1, 1};  ///< z, y, x
  int64_t count() const { return shape[0] * shape[1] * shape[2]; }
};

/// Exact squared Euclidean distance (mm^2) from every voxel centre to the nearest voxel with
/// feature[i] != 0, with per-axis spacing (z, y, x, mm). Separable linear-time algorithm
/// (Saito-Toriwaki / Felzenszwalb-Huttenlocher lower envelope of parabolas), one pass per axis,
/// lines shared among `threads` threads (<= 0: all available cores). A grid without features gets
/// +infinity everywhere. Values are computed in double and stored as float.
/// With `query` (same grid), only voxels with query[i] != 0 are guaranteed exact: lines that hold no
/// query voxel are skipped in the later passes (much faster for sparse surfaces).
std::vector<float> squared_distance_transform(const uint8_t* feature, const Grid& grid,
                                              const std::array<double, 3>& spacing_zyx, int threads = 0,
                                              const uint8_t* query = nullptr);

/// Runs fn(begin, end) over [0, n) split into contiguous chunks on up to `threads` std::threads.
void parallel_for(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& fn);

/// Threads to use for `threads` (<= 0 means all available cores).
int resolve_threads(int threads);

}  // namespace voxseg::metrics
