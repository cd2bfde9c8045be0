#pragma once
#include <c10/util/ArrayRef.h>

#include <cstdint>
#include <string>

namespace voxseg::models::detail {

/// "[2, 1, 64, 64]": a tensor shape (or any list of sizes) for error messages.
inline std::string shape_text(c10::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

}  // namespace voxseg::models::detail
