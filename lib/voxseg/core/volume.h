#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>

namespace voxseg {

/// Physical placement of a grid, in ITK's LPS space and ITK's (x, y, z) index order.
/// A 2D image has dims == 2, size[2] == 1, spacing[2] == 1 and the third direction column (0,0,1).
struct Geometry {
  int dims = 3;
  std::array<int64_t, 3> size{0, 0, 0};        ///< voxels along x, y, z
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  ///< mm
  std::array<double, 3> origin{0.0, 0.0, 0.0};   ///< mm, centre of voxel (0,0,0)
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};  ///< row-major 3x3, columns = axis directions

  int64_t voxel_count() const { return size[0] * size[1] * size[2]; }
  double voxel_volume_mm3() const { return spacing[0] * spacing[1] * spacing[2]; }
  /// Physical point (mm) of a continuous index (x, y, z).
  std::array<double, 3> index_to_physical(const std::array<double, 3>& index) const;
  /// Three-letter code of the axes' directions in the "to" convention ITK uses, e.g. "LPS", "RAS".
  std::string orientation_code() const;
};

/// True when sizes match and spacing, origin and direction agree within `tolerance` (relative for
/// spacing, mm for origin, absolute for direction cosines).
bool same_geometry(const Geometry& a, const Geometry& b, double tolerance = 1e-4);

/// Human-readable first difference between two geometries ("" when the same).
std::string describe_geometry_difference(const Geometry& a, const Geometry& b, double tolerance = 1e-4);

/// Voxels plus where they are. data is [Z,Y,X] (scalar) or [C,Z,Y,X] (channels); a 2D image is [1,Y,X].
struct Volume {
  at::Tensor data;
  Geometry geometry;

  int64_t channels() const { return data.dim() == 4 ? data.size(0) : 1; }
  bool has_channels() const { return data.dim() == 4; }
};

/// Name of a dtype as users see it ("uint8", "int16", "float32", ...).
std::string dtype_name(at::ScalarType type);

}  // namespace voxseg
