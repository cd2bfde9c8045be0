#pragma once
// SAM's two-way transformer (mask_decoder.transformer.*): prompt tokens attend to themselves and to
// the image, and the image attends back to the tokens, depth times; then a final token-to-image
// attention.
#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

#include "voxseg/models/detail/sam_layers.h"

namespace voxseg::models::detail {

/// Attention with q/k/v projections to dim/downsample channels, split into heads.
struct SamAttention {
  SamAttention() = default;
  SamAttention(SamParams& p, const std::string& prefix, int64_t dim, int64_t heads, int64_t downsample);
  at::Tensor operator()(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) const;
  /// The attention of already projected q [N,Tq,D], k and v [N,Tk,D] (batch 1 broadcasts), through
  /// out_proj: lets a caller project image tokens once per image and pick each prompt's rows.
  at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) const;
  Linear q_proj, k_proj, v_proj, out_proj;
  int64_t heads = 0;
};

struct SamTwoWayBlock {
  SamTwoWayBlock(SamParams& p, const std::string& prefix, int64_t dim, int64_t heads, int64_t mlp_dim,
                 bool skip_first_pe);
  /// queries [N,T,C], keys [N,L,C] (or [B,L,C] with image_index [N] int64 naming each prompt's
  /// image; or [1,L,C] shared by every prompt), key_pe [1,L,C] -> updated (queries, keys [N,L,C]).
  std::pair<at::Tensor, at::Tensor> operator()(at::Tensor queries, at::Tensor keys, const at::Tensor& query_pe,
                                               const at::Tensor& key_pe, const at::Tensor& image_index = {}) const;
  SamAttention self_attn, cross_token_to_image, cross_image_to_token;
  LayerNorm norm1, norm2, norm3, norm4;
  Linear lin1, lin2;
  bool skip_first_pe = false;
};

struct SamTwoWayTransformer {
  SamTwoWayTransformer(SamParams& p, const std::string& prefix, int64_t depth, int64_t dim, int64_t heads,
                       int64_t mlp_dim);
  /// image [N,C,h,w] (or [1,...] shared by every prompt, or [B,...] with image_index [N] int64 naming
  /// each prompt's image), image_pe [1,C,h,w], tokens [N,T,C] -> (tokens [N,T,C], image [N,h*w,C]).
  /// The first layer projects the image tokens once per image, not once per prompt.
  std::pair<at::Tensor, at::Tensor> operator()(const at::Tensor& image, const at::Tensor& image_pe,
                                               const at::Tensor& tokens, const at::Tensor& image_index = {}) const;
  std::vector<SamTwoWayBlock> layers;
  SamAttention final_attn;
  LayerNorm norm_final;
};

}  // namespace voxseg::models::detail
