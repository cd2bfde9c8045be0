#include "voxseg/refine/transforms.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

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

namespace {

/// One axis of a linear resampling: output o = sum_j weight[o * width + j] * input[first[o] + j].
struct Taps {
  int64_t width = 0;
  std::vector<int64_t> first;
  std::vector<double> weight;
};

/// torch's bilinear interpolation along one axis (align_corners=false, no antialiasing), in -> out,
/// with the weights upsample_bilinear2d uses on the CPU: the scale in float32, the source position
/// in float64, the weights stored as float32 (checked against LibTorch by interpolating unit
/// vectors; at source positions near 1000 another rounding moves a weight by ~3e-5).
Taps bilinear_taps(int64_t in, int64_t out) {
  Taps t;
  t.width = 2;
  t.first.resize(size_t(out));
  t.weight.resize(size_t(2 * out));
  const double scale = double(float(in) / float(out));
  for (int64_t o = 0; o < out; ++o) {
    int64_t i0 = o;
    double l1 = 0.0;
    if (in != out) {  // equal sizes: torch copies
      const double src = std::max(0.0, scale * (double(o) + 0.5) - 0.5);
      i0 = int64_t(src);
      l1 = i0 < in - 1 ? std::clamp(src - double(i0), 0.0, 1.0) : 0.0;  // the last pixel repeats
    }
    t.first[size_t(o)] = std::min(i0, std::max<int64_t>(0, in - 2));
    const size_t at = size_t(2 * o + (i0 - t.first[size_t(o)]));
    t.weight[at] += double(float(1.0 - l1));
    if (l1 != 0.0) t.weight[at + 1] += double(float(l1));
  }
  if (in == 1) {  // every output is the one input pixel
    t.width = 1;
    t.weight.assign(size_t(out), 1.0);
  }
  return t;
}

/// `second` after `first` (second's input = first's output) as one set of taps.
Taps compose(const Taps& second, const Taps& first, int64_t in) {
  const int64_t out = int64_t(second.first.size());
  std::vector<std::vector<std::pair<int64_t, double>>> rows(static_cast<size_t>(out));
  Taps t;
  for (int64_t o = 0; o < out; ++o) {
    int64_t lo = in, hi = -1;
    for (int64_t j = 0; j < second.width; ++j) {
      const double w = second.weight[size_t(o * second.width + j)];
      const int64_t m = second.first[size_t(o)] + j;
      if (w == 0.0) continue;
      for (int64_t k = 0; k < first.width; ++k) {
        const double v = first.weight[size_t(m * first.width + k)];
        if (v == 0.0) continue;
        const int64_t i = first.first[size_t(m)] + k;
        rows[size_t(o)].emplace_back(i, w * v);
        lo = std::min(lo, i), hi = std::max(hi, i);
      }
    }
    t.width = std::max(t.width, hi - lo + 1);
  }
  t.width = std::min(std::max<int64_t>(t.width, 1), in);
  t.first.assign(size_t(out), 0);
  t.weight.assign(size_t(out * t.width), 0.0);
  for (int64_t o = 0; o < out; ++o) {
    int64_t lo = in;
    for (const auto& [i, w] : rows[size_t(o)]) lo = std::min(lo, i);
    lo = std::max<int64_t>(0, std::min(lo, in - t.width));  // every window inside the input
    t.first[size_t(o)] = lo;
    for (const auto& [i, w] : rows[size_t(o)]) t.weight[size_t(o * t.width + (i - lo))] += w;
  }
  return t;
}

/// x [K, h, w] float32 -> [K, out_h, out_w]: rows with `tx`, then columns with `ty`, in float64.
at::Tensor resample(const at::Tensor& x, const Taps& ty, const Taps& tx) {
  const at::Tensor in = x.to(torch::kFloat).contiguous();
  const int64_t k = in.size(0), h = in.size(1), w = in.size(2);
  const int64_t oh = int64_t(ty.first.size()), ow = int64_t(tx.first.size());
  at::Tensor out = at::empty({k, oh, ow}, torch::kFloat);
  std::vector<double> mid(static_cast<size_t>(h * ow)), acc(static_cast<size_t>(ow));
  for (int64_t c = 0; c < k; ++c) {
    const float* src = in.data_ptr<float>() + c * h * w;
    for (int64_t r = 0; r < h; ++r)
      for (int64_t o = 0; o < ow; ++o) {
        const float* p = src + r * w + tx.first[size_t(o)];
        const double* wt = &tx.weight[size_t(o * tx.width)];
        double v = 0;
        for (int64_t j = 0; j < tx.width; ++j) v += wt[j] * double(p[j]);
        mid[size_t(r * ow + o)] = v;
      }
    float* dst = out.data_ptr<float>() + c * oh * ow;
    for (int64_t o = 0; o < oh; ++o) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < ty.width; ++j) {
        const double wt = ty.weight[size_t(o * ty.width + j)];
        const double* row = &mid[size_t((ty.first[size_t(o)] + j) * ow)];
        for (int64_t i = 0; i < ow; ++i) acc[size_t(i)] += wt * row[i];
      }
      for (int64_t i = 0; i < ow; ++i) dst[o * ow + i] = float(acc[size_t(i)]);
    }
  }
  return out;
}

}  // namespace

at::Tensor upscale_logits(const at::Tensor& low_res, Preset preset, const SliceFrame& frame) {
  // Both presets are separable linear resamplings of the low-resolution logits (Sam: bilinear to
  // S x S, crop, bilinear to H x W; MedSam: bilinear to H x W of the probabilities). Composed per
  // axis, each output pixel is a weighted sum of a few low-resolution pixels, computed directly in
  // float64 instead of through the S x S image: the reference's values up to its float32 rounding.
  const int64_t low_h = low_res.size(1), low_w = low_res.size(2), s = frame.image_size;
  if (preset == Preset::Sam) {
    // The crop keeps the first resized_h rows of the S x S image: the second resize reads only those.
    const Taps ty = compose(bilinear_taps(frame.resized_h, frame.height), bilinear_taps(low_h, s), low_h);
    const Taps tx = compose(bilinear_taps(frame.resized_w, frame.width), bilinear_taps(low_w, s), low_w);
    return resample(low_res, ty, tx);
  }
  const at::Tensor p = resample(torch::sigmoid(low_res.to(torch::kFloat)), bilinear_taps(low_h, frame.height),
                                bilinear_taps(low_w, frame.width));
  return torch::logit(p.to(torch::kDouble), 1e-12).to(torch::kFloat).contiguous();
}

}  // namespace voxseg::refine
