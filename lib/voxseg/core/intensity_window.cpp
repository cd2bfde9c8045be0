#include "voxseg/core/intensity_window.h"

#include <cmath>
#include <stdexcept>

namespace voxseg {

std::optional<IntensityWindow> parse_intensity_window(const std::string& text) {
  struct Named {
    const char* name;
    double level, width;
  };
  static const Named kPresets[] = {{"abdomen", 40, 400}, {"lung", -600, 1500}, {"bone", 400, 1800}, {"brain", 40, 80}};
  for (const auto& p : kPresets)
    if (text == p.name) return IntensityWindow{p.level, p.width, p.name};
  const size_t comma = text.find(',');
  if (comma == std::string::npos) return std::nullopt;
  const std::string level = text.substr(0, comma), width = text.substr(comma + 1);
  try {
    size_t used_level = 0, used_width = 0;
    const double l = std::stod(level, &used_level), w = std::stod(width, &used_width);
    if (used_level == level.size() && used_width == width.size() && std::isfinite(l) && std::isfinite(w) && w > 0)
      return IntensityWindow{l, w, text};
  } catch (const std::exception&) {  // stod: not a number, out of range
  }
  return std::nullopt;
}

}  // namespace voxseg
