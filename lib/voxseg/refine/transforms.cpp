#include "voxseg/refine/transforms.h"

#include <torch/torch.h>

#include <cmath>

#include "voxseg/core/error.h"
#include "voxseg/refine/resize.h"

namespace voxseg::refine {

Preset parse_preset(const std::string& text) {
  if (text == "sam") return Preset::Sam;
  if (text == "medsam") return Preset::MedSam;
  fail(ExitCode::Usage, "--preset '{}': expected sam or medsam", text);
}

const char* preset_name(Preset preset) { return preset == Preset::Sam ? "sam" : "medsam"; }

SliceFrame slice_frame(Preset preset, int64_t height, int64_t width, int64_t image_size) {
  SliceFrame f;
  f.height = height;
  f.width = width;
  f.image_size = image_size;
  if (preset == Preset::Sam) {
    // ResizeLongestSide.get_preprocess_shape; apply_coords scales by the rounded sizes.
    const double scale = double(image_size) / double(std::max(height, width));
    f.resized_h = int64_t(double(height) * scale + 0.5);
    f.resized_w = int64_t(double(width) * scale + 0.5);
    f.scale_x = double(f.resized_w) / double(width);
    f.scale_y = double(f.resized_h) / double(height);
  } else {
    f.resized_h = f.resized_w = image_size;
    f.scale_x = double(image_size) / double(width);
    f.scale_y = double(image_size) / double(height);
  }
  return f;
}

std::array<double, 2> to_model_point(double x, double y, const SliceFrame& frame) {
  return {x * frame.scale_x, y * frame.scale_y};
}

at::Tensor encoder_input(const at::Tensor& rgb, Preset preset, const SliceFrame& frame) {
  if (rgb.dim() != 3 || rgb.size(0) != 3 || rgb.scalar_type() != at::kByte)
    fail(ExitCode::Internal, "encoder_input: expected uint8 [3,H,W]");
  const int64_t s = frame.image_size;
  if (preset == Preset::Sam) {
    const at::Tensor resized = pil_resize_bilinear(rgb, frame.resized_h, frame.resized_w).to(torch::kFloat);
    const auto mean = torch::tensor({123.675f, 116.28f, 103.53f}).view({3, 1, 1});
    const auto std = torch::tensor({58.395f, 57.12f, 57.375f}).view({3, 1, 1});
    const at::Tensor normalized = (resized - mean) / std;
    return torch::constant_pad_nd(normalized, {0, s - frame.resized_w, 0, s - frame.resized_h}, 0.0).contiguous();
  }
  // MedSAM: skimage resize (float64), astype(uint8) (truncation), then min-max over the whole image.
  const at::Tensor resized = skimage_resize_cubic(rgb.to(torch::kDouble), s, s).trunc();
  const double lo = resized.min().item<double>(), hi = resized.max().item<double>();
  return ((resized - lo) / std::max(hi - lo, 1e-8)).to(torch::kFloat).contiguous();
}

at::Tensor upscale_logits(const at::Tensor& low_res, Preset preset, const SliceFrame& frame) {
  namespace F = torch::nn::functional;
  const auto bilinear = [](const at::Tensor& x, int64_t h, int64_t w) {
    return F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear)
                                 .align_corners(false));
  };
  const at::Tensor x = low_res.to(torch::kFloat).unsqueeze(0);
  if (preset == Preset::Sam) {
    at::Tensor full = bilinear(x, frame.image_size, frame.image_size);
    full = full.slice(2, 0, frame.resized_h).slice(3, 0, frame.resized_w);
    return bilinear(full, frame.height, frame.width).squeeze(0).contiguous();
  }
  const at::Tensor p = bilinear(torch::sigmoid(x), frame.height, frame.width).squeeze(0);
  return torch::logit(p.to(torch::kDouble), 1e-12).to(torch::kFloat).contiguous();
}

}  // namespace voxseg::refine
