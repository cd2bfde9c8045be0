#include "voxseg/core/volume.h"

#include <cmath>

#include "voxseg/core/error.h"

namespace voxseg {

std::array<double, 3> Geometry::index_to_physical(const std::array<double, 3>& index) const {
  std::array<double, 3> p{};
  for (int r = 0; r < 3; ++r) {
    p[r] = origin[r];
    for (int c = 0; c < 3; ++c) p[r] += direction[r * 3 + c] * spacing[c] * index[c];
  }
  return p;
}

std::string Geometry::orientation_code() const {
  // For each axis, the dominant physical component; LPS positive directions are L, P, S.
  static const char kPositive[3] = {'L', 'P', 'S'};
  static const char kNegative[3] = {'R', 'A', 'I'};
  std::string code;
  for (int c = 0; c < dims; ++c) {
    int best = 0;
    for (int r = 1; r < 3; ++r)
      if (std::abs(direction[r * 3 + c]) > std::abs(direction[best * 3 + c])) best = r;
    code += direction[best * 3 + c] >= 0 ? kPositive[best] : kNegative[best];
  }
  return code;
}

std::string describe_geometry_difference(const Geometry& a, const Geometry& b, double tol) {
  if (a.dims != b.dims) return fmt::format("dimensions {}D vs {}D", a.dims, b.dims);
  if (a.size != b.size)
    return fmt::format("size {}x{}x{} vs {}x{}x{}", a.size[0], a.size[1], a.size[2], b.size[0], b.size[1],
                       b.size[2]);
  for (int i = 0; i < 3; ++i)
    if (std::abs(a.spacing[i] - b.spacing[i]) > tol * std::max(std::abs(a.spacing[i]), 1.0))
      return fmt::format("spacing {:.6g},{:.6g},{:.6g} vs {:.6g},{:.6g},{:.6g} mm", a.spacing[0], a.spacing[1],
                         a.spacing[2], b.spacing[0], b.spacing[1], b.spacing[2]);
  for (int i = 0; i < 3; ++i)
    if (std::abs(a.origin[i] - b.origin[i]) > tol * std::max(1.0, a.spacing[i]))
      return fmt::format("origin {:.6g},{:.6g},{:.6g} vs {:.6g},{:.6g},{:.6g} mm", a.origin[0], a.origin[1],
                         a.origin[2], b.origin[0], b.origin[1], b.origin[2]);
  for (int i = 0; i < 9; ++i)
    if (std::abs(a.direction[i] - b.direction[i]) > tol)
      return fmt::format("direction differs (element {} is {:.6g} vs {:.6g})", i, a.direction[i], b.direction[i]);
  return "";
}

bool same_geometry(const Geometry& a, const Geometry& b, double tolerance) {
  return describe_geometry_difference(a, b, tolerance).empty();
}

std::string dtype_name(at::ScalarType type) {
  switch (type) {
    case at::kByte: return "uint8";
    case at::kChar: return "int8";
    case at::kShort: return "int16";
    case at::kInt: return "int32";
    case at::kLong: return "int64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kBool: return "bool";
    default: return c10::toString(type);
  }
}

}  // namespace voxseg
