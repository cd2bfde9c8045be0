#pragma once
#include "voxseg/core/volume.h"

namespace voxseg::metrics {

/// Nearest-neighbour resampling of a label map onto `target`'s grid through physical space
/// (index -> LPS point -> source index, rounded); points outside the source get 0. Keeps the dtype.
/// Throws Error(BadInput) for a non-scalar volume or a singular direction matrix.
Volume resample_nearest(const Volume& labels, const Geometry& target);

}  // namespace voxseg::metrics
