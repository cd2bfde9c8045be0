#include "voxseg/models/detail/sam_prompt_encoder.h"

#include <torch/torch.h>

#include <cmath>

namespace voxseg::models::detail {

SamPromptEncoder::SamPromptEncoder(SamParams& p, const SamConfig& c, int64_t mask_in_chans)
    : image_size(c.image_size), grid(c.image_size / c.patch_size), dim(c.out_chans) {
  const std::string pre = "prompt_encoder.";
  gaussian = p.add(pre + "pe_layer.positional_encoding_gaussian_matrix", {2, dim / 2});
  for (int i = 0; i < 4; ++i) point_embeddings[i] = embedding(p, pre + "point_embeddings." + std::to_string(i), 1, dim);
  not_a_point = embedding(p, pre + "not_a_point_embed", 1, dim);
  mask_conv0 = Conv2d(p, pre + "mask_downscaling.0", 1, mask_in_chans / 4, 2, 2, 0, true, false, false);
  mask_norm1 = LayerNorm2d(p, pre + "mask_downscaling.1", mask_in_chans / 4);
  mask_conv3 = Conv2d(p, pre + "mask_downscaling.3", mask_in_chans / 4, mask_in_chans, 2, 2, 0, true, false, false);
  mask_norm4 = LayerNorm2d(p, pre + "mask_downscaling.4", mask_in_chans);
  mask_conv6 = Conv2d(p, pre + "mask_downscaling.6", mask_in_chans, dim, 1, 1, 0, true, false, false);
  no_mask = embedding(p, pre + "no_mask_embed", 1, dim);
}

at::Tensor SamPromptEncoder::fourier(const at::Tensor& unit_coords) const {
  const at::Tensor proj = at::matmul(unit_coords * 2 - 1, gaussian) * (2 * M_PI);
  return at::cat({at::sin(proj), at::cos(proj)}, -1);
}

at::Tensor SamPromptEncoder::dense_positional_encoding() const {
  const auto opts = gaussian.options();
  const at::Tensor centres = (at::arange(grid, opts) + 0.5) / grid;  // same for both axes (square grid)
  const at::Tensor ys = centres.view({grid, 1}).expand({grid, grid});
  const at::Tensor xs = centres.view({1, grid}).expand({grid, grid});
  return fourier(at::stack({xs, ys}, -1)).permute({2, 0, 1}).unsqueeze(0);
}

at::Tensor SamPromptEncoder::embed_points(const at::Tensor& points, const at::Tensor& labels, bool pad) const {
  at::Tensor pts = points.to(at::kFloat) + 0.5;  // pixel centres
  at::Tensor lab = labels.to(at::kFloat);
  if (pad) {
    pts = at::cat({pts, at::zeros({pts.size(0), 1, 2}, pts.options())}, 1);
    lab = at::cat({lab, -at::ones({lab.size(0), 1}, lab.options())}, 1);
  }
  at::Tensor emb = fourier(pts / static_cast<double>(image_size));
  const at::Tensor l = lab.unsqueeze(-1);
  const at::Tensor is_pad = l == -1;
  emb = at::where(is_pad, not_a_point.view({1, 1, -1}).expand_as(emb), emb);
  // Labels 2 and 3 are box corners given as points (SAM's ONNX decoder interface).
  for (int64_t k = 0; k < 4; ++k) emb = emb + (l == k).to(at::kFloat) * point_embeddings[k].view({1, 1, -1});
  return emb;
}

at::Tensor SamPromptEncoder::embed_boxes(const at::Tensor& boxes) const {
  const at::Tensor corners = (boxes.to(at::kFloat) + 0.5).reshape({-1, 2, 2});
  const at::Tensor emb = fourier(corners / static_cast<double>(image_size));
  const at::Tensor corner_embed = at::cat({point_embeddings[2], point_embeddings[3]}, 0).unsqueeze(0);  // [1,2,C]
  return emb + corner_embed;
}

std::pair<at::Tensor, at::Tensor> SamPromptEncoder::operator()(const at::Tensor& points, const at::Tensor& labels,
                                                               const at::Tensor& boxes, const at::Tensor& masks,
                                                               int64_t n) const {
  std::vector<at::Tensor> sparse{at::empty({n, 0, dim}, gaussian.options())};
  if (points.defined()) sparse.push_back(embed_points(points, labels, !boxes.defined()));
  if (boxes.defined()) sparse.push_back(embed_boxes(boxes));
  at::Tensor dense;
  if (masks.defined()) {
    at::Tensor m = at::gelu(mask_norm1(mask_conv0(masks.to(at::kFloat))));
    m = at::gelu(mask_norm4(mask_conv3(m)));
    dense = mask_conv6(m);
  } else {
    dense = no_mask.view({1, dim, 1, 1}).expand({n, dim, grid, grid});
  }
  return {at::cat(sparse, 1), dense};
}

}  // namespace voxseg::models::detail
