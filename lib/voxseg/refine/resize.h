#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace voxseg::refine {

/// Pillow's Image.resize(..., BILINEAR) on an 8-bit image [C,H,W] (uint8, CPU): the triangle filter
/// with its support widened by the downscale factor (antialiasing), coefficients in 22-bit fixed point,
/// a horizontal pass then a vertical pass, each rounded and clipped to uint8 (Pillow's Resample.c).
/// This is what SAM's ResizeLongestSide gets from torchvision on a PIL image.
at::Tensor pil_resize_bilinear(const at::Tensor& image, int64_t out_h, int64_t out_w);

/// skimage.transform.resize(image, (out_h, out_w), order=3, mode="reflect", preserve_range=True,
/// anti_aliasing=True) of a float64 image [C,H,W] per channel: Gaussian pre-filter (sigma =
/// max(0, (in/out - 1) / 2), truncate 4) then scipy.ndimage.zoom's cubic B-spline (grid_mode, "mirror"
/// boundaries), clipped to the input's range. MedSAM's preprocessing. Returns float64 [C,out_h,out_w].
at::Tensor skimage_resize_cubic(const at::Tensor& image, int64_t out_h, int64_t out_w);

}  // namespace voxseg::refine
