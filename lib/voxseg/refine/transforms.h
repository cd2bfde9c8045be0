#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>

namespace voxseg::refine {

/// Whose pre- and post-processing to reproduce.
enum class Preset {
  Sam,     ///< segment-anything's SamPredictor: longest side to S (PIL bilinear), mean/std, zero padding
  MedSam,  ///< MedSAM_Inference.py: stretch to SxS (skimage cubic), min-max to [0,1], sigmoid > 0.5
};
/// "sam" | "medsam"; Error(Usage) otherwise.
Preset parse_preset(const std::string& text);
const char* preset_name(Preset preset);

/// Where one slice of H x W pixels lands in the model's S x S input frame.
struct SliceFrame {
  int64_t height = 0, width = 0;          ///< the slice
  int64_t resized_h = 0, resized_w = 0;   ///< the image inside the S x S input (rest is padding)
  int64_t image_size = 1024;              ///< S
  double scale_x = 1, scale_y = 1;        ///< pixel coordinate -> model coordinate
};
SliceFrame slice_frame(Preset preset, int64_t height, int64_t width, int64_t image_size = 1024);

/// Encoder input float32 [3,S,S] from an 8-bit image uint8 [3,H,W] (grey already replicated).
at::Tensor encoder_input(const at::Tensor& rgb, Preset preset, const SliceFrame& frame);

/// A point (x = column, y = row, pixels) in the model's frame, as the reference code computes it
/// (float64, then float32 when it becomes a tensor).
std::array<double, 2> to_model_point(double x, double y, const SliceFrame& frame);

/// Low-resolution decoder output float32 [K,S/4,S/4] -> logits [K,H,W] in the slice's pixels, where
/// the mask is logits > 0. Sam: bilinear (align_corners false) to S x S, crop the padding, bilinear to
/// H x W. MedSam: sigmoid, bilinear to H x W; returned as log(p / (1 - p)) so that p > 0.5 <=> > 0.
at::Tensor upscale_logits(const at::Tensor& low_res, Preset preset, const SliceFrame& frame);

}  // namespace voxseg::refine
