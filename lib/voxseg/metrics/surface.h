#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "voxseg/metrics/edt.h"

namespace voxseg::metrics {

/// Boundary voxels of a binary mask (MONAI, medpy): the mask minus its erosion by the 6-connected
/// cross (4-connected when `planar`), voxels outside the grid counting as background.
std::vector<uint8_t> boundary_voxels(const uint8_t* mask, const Grid& grid, bool planar);

/// Neighbourhood code of every corner of the voxel grid (the grid shifted by half a voxel, one
/// larger along each used axis): bit (dz*4 + dy*2 + dx) is set when the voxel at corner offset
/// (-1 + dz, -1 + dy, -1 + dx) is inside the mask. In 2D only bits 0..3 (dy*2 + dx) are used.
/// `corner_grid` receives the corner grid's shape.
std::vector<uint8_t> corner_codes(const uint8_t* mask, const Grid& grid, bool planar, Grid& corner_grid);

/// Area (mm^2; contour length in mm for 2D) of the surface element of every neighbourhood code for
/// this spacing (z, y, x). 3D: voxseg's marching-cubes triangulation with vertices at edge
/// midpoints (docs/metrics.md); 2D: marching squares as DeepMind's surface-distance. Codes 0 and
/// "all inside" have area 0.
std::array<double, 256> surfel_area_table(const std::array<double, 3>& spacing_zyx, bool planar);

}  // namespace voxseg::metrics
