#pragma once
#include <cstdint>
#include <vector>

#include "voxseg/phantom/detail/grid.h"
#include "voxseg/phantom/phantom.h"

namespace voxseg::phantom::detail {

/// What a generator produces before it becomes tensors: intensities and labels in [z][y][x] order.
struct RawPhantom {
  std::vector<float> image;
  std::vector<int32_t> labels;
  int instances = 0;  ///< cells: number of nuclei (labels 1..instances); ct/mr: tumours or lesions made
};

/// Number of tumours or lesions of a case when --objects is not given: 0 with probability 0.1, else
/// 1..4 uniformly. Exactly one draw, so an explicit count leaves the rest of the stream unchanged.
int lesion_count(Rng& rng);

RawPhantom generate_ct_abdomen(const PhantomOptions& options, const Grid& grid);
RawPhantom generate_mr_brain(const PhantomOptions& options, const Grid& grid);
RawPhantom generate_cells(const PhantomOptions& options, const Grid& grid);

}  // namespace voxseg::phantom::detail
