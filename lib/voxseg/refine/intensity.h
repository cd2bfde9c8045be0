#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace voxseg::refine {

/// How a volume's intensities become the 8-bit image SAM and MedSAM see (MedSAM's pre_CT_MR.py).
struct IntensityMapping {
  enum class Kind { AsIs, Window, Percentile } kind = Kind::Percentile;
  double level = 40, width = 400;  ///< Window: HU
  std::string name;                ///< as the user gave it ("abdomen", "40,400", "percentile", ...)
};

/// "abdomen" (L40/W400, MedSAM's CT default), "lung" (L-600/W1500), "bone" (L400/W1800),
/// "brain" (L40/W80), "LEVEL,WIDTH", "percentile" (0.5/99.5 % of non-zero voxels, MedSAM's MR rule)
/// or "none" (8-bit input used as it is). Throws Error(Usage) otherwise.
IntensityMapping parse_intensity_mapping(const std::string& text);

/// The volume as uint8 of the same shape. Window: clip to [L-W/2, L+W/2], then min-max of the
/// clipped volume to 0..255 and truncation (pre_CT_MR.py). Percentile: clip to the 0.5 and 99.5
/// percentiles (linear interpolation, as numpy) of the non-zero voxels, min-max to 0..255, voxels
/// that were 0 stay 0, truncation. AsIs: requires values in 0..255 (Error(BadInput) otherwise).
at::Tensor to_uint8(const at::Tensor& volume, const IntensityMapping& mapping);

/// numpy.percentile(values, q) (linear interpolation) of a float64 vector; exposed for tests.
double percentile_linear(std::vector<double> values, double q);

}  // namespace voxseg::refine
