#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "voxseg/core/json.h"

namespace voxseg::postprocess {

/// Connected components of a label map: neighbouring voxels belong to one component when they carry
/// the same non-zero value. connectivity 6 (faces), 18 (+edges) or 26 (+corners); a single-slice map
/// [1,Y,X] is 2D, where 6 means 4 and 18/26 mean 8.
struct Components {
  at::Tensor ids;                ///< int32 [Z,Y,X]: 0 background, else 1..count()
  std::vector<int64_t> label;    ///< label[i]: value of component i + 1
  std::vector<int64_t> voxels;   ///< voxels[i]: size of component i + 1
  int64_t count() const { return int64_t(voxels.size()); }
};

/// Labels components with union-find in one pass (any integer or bool dtype, [Z,Y,X]).
/// Components are numbered in raster order of their first voxel. Throws Error(Usage) for a bad connectivity.
Components connected_components(const at::Tensor& labels, int connectivity = 26);

/// Post-processing of a label map, in this order: keep the largest component per label, drop
/// components smaller than min_size_ml, fill holes.
struct Options {
  bool largest_component = false;  ///< per label, keep only its largest component (nnU-Net's rule)
  bool fill_holes = false;         ///< background regions enclosed by a single label take that label
  double min_size_ml = 0;          ///< components below this volume become background
  int connectivity = 26;           ///< for foreground; background (holes) uses the complement (26 -> 6, 6 -> 26, 18 -> 6)
  bool any() const { return largest_component || fill_holes || min_size_ml > 0; }
};

/// Applies `options` in place to an integer label map [Z,Y,X] (voxel volume in mm^3 for min_size_ml)
/// and returns what changed: {"removed_voxels", "filled_voxels", "components_removed", "holes_filled"}.
Json apply(at::Tensor& labels, double voxel_volume_mm3, const Options& options);

/// Background components (label 0) that do not touch the border and whose neighbours all carry one
/// label are set to that label. Returns the number of voxels filled.
int64_t fill_holes(at::Tensor& labels, int background_connectivity = 6, int64_t* holes = nullptr);

}  // namespace voxseg::postprocess
