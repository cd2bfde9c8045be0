#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "voxseg/metrics/edt.h"

namespace voxseg::metrics {

/// Boundary voxels of a binary mask (MONAI, medpy): the mask minus its erosion by the 6-connected
/// cross (4-connected when `planar`), voxels outside the grid counting as background.
std::vector<uint8_t> boundary_voxels(const uint8_t* mask, const Grid& grid, bool planar, int threads = 0);

/// Neighbourhood code of every inner corner of the voxel grid (the grid shifted by half a voxel):
/// corner (k, j, i) lies between voxels k..k+1, j..j+1, i..i+1 and has bit (dz*4 + dy*2 + dx) set when
/// voxel (k + dz, j + dy, i + dx) is inside. The corner grid is one smaller along each used axis, so
/// pad the mask with one background voxel on every side to keep every surface element. In 2D
/// (`planar`) only bits 0..3 (dy*2 + dx) are used and z is unchanged. `corner_grid` receives the shape.
std::vector<uint8_t> corner_codes(const uint8_t* mask, const Grid& grid, bool planar, Grid& corner_grid,
                                  int threads = 0);

/// Area (mm^2; contour length in mm for 2D) of the surface element of every neighbourhood code for
/// this spacing (z, y, x). 3D: voxseg's marching-cubes triangulation with vertices at edge
/// midpoints (docs/metrics.md); 2D: marching squares as DeepMind's surface-distance. Codes 0 and
/// "all inside" have area 0.
std::array<double, 256> surfel_area_table(const std::array<double, 3>& spacing_zyx, bool planar);

}  // namespace voxseg::metrics
