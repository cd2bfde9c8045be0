#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "voxseg/core/json.h"

namespace voxseg::postprocess {

/// How a three-class cell model's output (background, interior, boundary) becomes instances.
struct InstanceOptions {
  int64_t interior = 1;         ///< class value of cell interiors
  int64_t boundary = 2;         ///< class value of cell boundaries
  int64_t min_size_voxels = 8;  ///< instances smaller than this (after growing) are dropped
  int connectivity = 6;         ///< of interior components (6, 18, 26)
  /// Erode the interior this many times (6-connected) before taking its components as seeds, so
  /// touching cells joined by a thin interior bridge get a seed each (0: the interior's components).
  int64_t seed_erosion = 0;
};

/// Reads a bundle's "postprocess": {"instances": {"interior": 1, "boundary": 2, "min_size_voxels": 8,
/// "connectivity": 6, "seed_erosion": 0}} object (every key optional). Throws std::invalid_argument
/// naming the key.
InstanceOptions parse_instance_options(const Json& json);

/// Instance label map from a class map [Z,Y,X]: connected components of the interior are the seeds
/// (instances 1..N in raster order of their first voxel); they grow breadth-first through
/// 6-connected boundary voxels (a voxel joins the seed that reaches it first, ties to the lower id);
/// instances below min_size_voxels are dropped and the rest renumbered 1..M. Returns int32 [Z,Y,X].
/// With seed_erosion E > 0 the seeds are the components of the interior eroded E times (voxels
/// outside the image count as not interior), numbered in raster order, then each interior component
/// the erosion removed entirely, so no cell is lost; seeds grow breadth-first through the interior
/// first, then through the boundary. Throws Error(Usage) for a bad connectivity or a negative
/// seed_erosion.
at::Tensor instances_from_classes(const at::Tensor& classes, const InstanceOptions& options = {});

}  // namespace voxseg::postprocess
