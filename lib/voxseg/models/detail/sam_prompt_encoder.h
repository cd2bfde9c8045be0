#pragma once
// SAM's prompt encoder (prompt_encoder.*): random-Fourier positional encoding of points and box
// corners plus learned label embeddings (sparse), and a convolutional embedding of a low-resolution
// mask or the learned no-mask embedding (dense).
#include <ATen/core/Tensor.h>

#include <array>
#include <vector>

#include "voxseg/models/detail/sam_layers.h"
#include "voxseg/models/sam.h"

namespace voxseg::models::detail {

struct SamPromptEncoder {
  SamPromptEncoder(SamParams& p, const SamConfig& config, int64_t mask_in_chans);

  /// Fourier features of coordinates already normalised to [0,1]: [..., 2] -> [..., out_chans].
  at::Tensor fourier(const at::Tensor& unit_coords) const;
  /// Positional encoding of the embedding grid's cell centres: [1, out_chans, grid, grid].
  at::Tensor dense_positional_encoding() const;
  /// Sparse embeddings [N, P(+1 padding) (+2 per box), out_chans]; `pad` appends SAM's padding
  /// point (label -1), as the predictor does when points come without a box. Inputs in the SxS frame.
  at::Tensor embed_points(const at::Tensor& points, const at::Tensor& labels, bool pad) const;
  at::Tensor embed_boxes(const at::Tensor& boxes) const;
  /// Sparse [N,T,C] and dense [N,C,grid,grid] embeddings; n = number of prompts.
  std::pair<at::Tensor, at::Tensor> operator()(const at::Tensor& points, const at::Tensor& labels,
                                               const at::Tensor& boxes, const at::Tensor& masks, int64_t n) const;

  at::Tensor gaussian;  ///< pe_layer.positional_encoding_gaussian_matrix [2, out_chans/2]
  std::array<at::Tensor, 4> point_embeddings;  ///< background, foreground, box top-left, box bottom-right
  at::Tensor not_a_point, no_mask;
  Conv2d mask_conv0, mask_conv3, mask_conv6;
  LayerNorm2d mask_norm1, mask_norm4;
  int64_t image_size = 0, grid = 0, dim = 0;
};

}  // namespace voxseg::models::detail
