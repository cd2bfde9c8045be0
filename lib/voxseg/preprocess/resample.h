#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace voxseg::preprocess {

/// nnU-Net v2's resampling (preprocessing/resampling/default_resampling.py), as a tensor product of
/// 1D interpolations: `order` on every axis, except that when the grid is anisotropic the low-resolution
/// axis uses `order_z` ("separate z"). Orders: 0 nearest, 1 linear, 3 cubic B-spline (scipy/skimage
/// semantics: grid_mode coordinates, mode 'edge', no anti-aliasing).
struct ResampleOptions {
  int order = 3;
  int order_z = 0;
  std::optional<bool> force_separate_z;  ///< unset: decide from the spacings (nnU-Net's default)
  double anisotropy_threshold = 3.0;     ///< nnU-Net's ANISO_THRESHOLD
};

struct SeparateZ {
  bool separate = false;
  int axis = -1;  ///< array axis (0 = z) resampled with order_z when separate
};

/// nnU-Net's determine_do_sep_z_and_axis: separate when max/min of the current spacing (else of the
/// target spacing) exceeds the threshold and exactly one axis has the largest spacing.
SeparateZ decide_separate_z(const std::array<double, 3>& current_spacing,
                            const std::array<double, 3>& target_spacing, const ResampleOptions& options);

/// Per-axis interpolation order implied by the decision above.
std::array<int, 3> axis_orders(const std::array<double, 3>& current_spacing,
                               const std::array<double, 3>& target_spacing, const ResampleOptions& options);

/// round(old_spacing / new_spacing * old_shape) per axis, half to even (Python's round).
std::array<int64_t, 3> compute_new_shape(const std::array<int64_t, 3>& shape, const std::array<double, 3>& old_spacing,
                                         const std::array<double, 3>& new_spacing);

/// Where output sample j of `out_len` falls on an input axis of `in_len` samples (scipy grid_mode):
/// (j + 0.5) * in_len / out_len - 0.5.
double source_coordinate(int64_t j, int64_t in_len, int64_t out_len);

/// Two-tap weights of an order 0 or 1 interpolation (mode 'nearest': coordinates clamped to the axis).
struct LinearTap {
  int64_t i0 = 0, i1 = 0;
  float w0 = 1, w1 = 0;
};
std::vector<LinearTap> linear_taps(int64_t in_len, int64_t out_len, int order);

/// out[k] = w0 * a[k] + w1 * b[k] (in double, stored float32), or a copy of `a` for order 0 or w1 == 0:
/// the exact arithmetic of resample_axis for orders 0 and 1, shared by streamed resampling.
void blend_rows(const float* a, const float* b, float* out, int64_t n, const LinearTap& tap, int order);

/// Resamples a float32 tensor of any rank along one axis to `new_len` samples with `order` (0, 1, 3).
/// Arithmetic in double, result float32. Returns the input unchanged when new_len equals its length.
at::Tensor resample_axis(const at::Tensor& data, int64_t axis, int64_t new_len, int order);

/// Resamples [C,Z,Y,X] (or [Z,Y,X]) float32 data to `new_shape` with the per-axis `orders`
/// (see axis_orders). Axes whose size does not change are left untouched. Pass the input with
/// std::move when it is no longer needed: it is then released after the first axis (one full-size
/// float copy less at the peak) and clipped in place.
at::Tensor resample_to_shape(at::Tensor data, const std::array<int64_t, 3>& new_shape,
                             const std::array<int, 3>& orders);

}  // namespace voxseg::preprocess
