#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>

namespace voxseg::preprocess {

/// Half-open box in array order (z, y, x): voxels begin[i] <= index < end[i].
struct BoundingBox {
  std::array<int64_t, 3> begin{0, 0, 0};
  std::array<int64_t, 3> end{0, 0, 0};
  std::array<int64_t, 3> shape() const { return {end[0] - begin[0], end[1] - begin[1], end[2] - begin[2]}; }
};

/// nnU-Net's `create_nonzero_mask`: voxels where any channel is non-zero, with enclosed holes
/// filled (background 6-connected, as scipy's binary_fill_holes). data is [C,Z,Y,X]; returns bool [Z,Y,X].
at::Tensor nonzero_mask(const at::Tensor& data);

/// Fills the holes of a bool mask [Z,Y,X] in place: background regions not connected to the border.
/// background_connectivity 6 (face) or 26 (face, edge, corner); 2D masks ([1,Y,X]) behave as 4/8.
void fill_holes(at::Tensor& mask, int background_connectivity = 6);

/// Tight box around the true voxels of a bool mask [Z,Y,X]; the whole grid when the mask is empty.
BoundingBox bounding_box(const at::Tensor& mask);

/// Tight box around the voxels where any channel of `data` ([C,Z,Y,X], any real type, any strides) is
/// non-zero; the whole grid when none is. Equals bounding_box(nonzero_mask(data)) (a filled hole is
/// enclosed by non-zero voxels, so it never widens the box) without a mask: one pass that reads each
/// row from both ends until the first non-zero voxel.
BoundingBox nonzero_box(const at::Tensor& data);

/// data[..., z0:z1, y0:y1, x0:x1] (contiguous copy) for a [Z,Y,X] or [C,Z,Y,X] tensor.
at::Tensor crop(const at::Tensor& data, const BoundingBox& box);

}  // namespace voxseg::preprocess
