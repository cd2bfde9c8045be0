#pragma once
#include <optional>
#include <string>

namespace voxseg {

/// A display window in the image's units (HU for CT): values in [level - width/2, level + width/2]
/// map to black..white.
struct IntensityWindow {
  double level = 40, width = 400;
  std::string name;  ///< the preset's name ("abdomen") or "LEVEL,WIDTH" as given
};

/// The named CT presets "abdomen" (L40/W400), "lung" (L-600/W1500), "bone" (L400/W1800),
/// "brain" (L40/W80), or "LEVEL,WIDTH" with a finite level and width > 0; nullopt for anything
/// else (callers add their own words, such as "percentile").
std::optional<IntensityWindow> parse_intensity_window(const std::string& text);

}  // namespace voxseg
