#pragma once
// voxseg's preprocessing before it was fused (issue 14), from the public building blocks: hole-filled
// mask of the whole grid, crop copy, a float copy per channel, stack, resample. The benchmark's
// "before" row; tests/unit/preprocess/fused_preprocess_test.cpp checks the fused path against the same steps.
#include <torch/torch.h>

#include "voxseg/preprocess/plan.h"

namespace voxseg::bench {

inline preprocess::Preprocessed step_by_step_preprocess(const Volume& image, const preprocess::Plan& plan) {
  using namespace voxseg::preprocess;
  at::Tensor data = image.data.dim() == 3 ? image.data.unsqueeze(0) : image.data;
  Preprocessed out;
  const auto& t = plan.transpose_forward;
  const auto spacing = array_spacing(image.geometry);
  data = data.permute({0, 1 + t[0], 1 + t[1], 1 + t[2]});
  for (size_t a = 0; a < 3; ++a) {
    out.spacing[a] = spacing[size_t(t[a])];
    out.shape_before_crop[a] = data.size(int64_t(a) + 1);
  }
  at::Tensor mask;
  if (plan.crop_to_nonzero) {
    mask = nonzero_mask(data);
    out.box = bounding_box(mask);
    data = crop(data, out.box);
    mask = crop(mask, out.box);
  } else {
    out.box.end = out.shape_before_crop;
  }
  std::vector<at::Tensor> channels;
  for (int64_t c = 0; c < data.size(0); ++c) {
    const NormalizeOptions o = plan.channels.empty() ? NormalizeOptions{Normalization::None} : plan.channels[size_t(c)];
    channels.push_back(normalize_channel(data.select(0, c), o, mask));
  }
  data = torch::stack(channels, 0);
  out.target_spacing = out.spacing;
  const size_t off = 3 - plan.target_spacing.size();
  if (!plan.target_spacing.empty())
    for (size_t a = off; a < 3; ++a) out.target_spacing[a] = plan.target_spacing[a - off];
  const std::array<int64_t, 3> shape{data.size(1), data.size(2), data.size(3)};
  const auto new_shape = compute_new_shape(shape, out.spacing, out.target_spacing);
  out.resample_orders = axis_orders(out.spacing, out.target_spacing, plan.image_resampling);
  out.data = new_shape == shape ? data.contiguous() : resample_to_shape(data, new_shape, out.resample_orders);
  return out;
}

}  // namespace voxseg::bench
