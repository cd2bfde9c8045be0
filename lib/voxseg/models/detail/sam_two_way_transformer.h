#pragma once
// SAM's two-way transformer (mask_decoder.transformer.*): prompt tokens attend to themselves and to
// the image, and the image attends back to the tokens, depth times; then a final token-to-image
// attention.
#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

#include "voxseg/models/detail/sam_layers.h"

namespace voxseg::models::detail {

/// Which rows of the image tokens each prompt uses: keys [B,L,C] and, per row b, the prompts on it.
struct PromptGroups {
  /// index [N] int64 naming each prompt's row (undefined: row 0 for every prompt when rows == 1,
  /// else prompt n on row n).
  PromptGroups(const at::Tensor& index, int64_t rows, int64_t prompts);
  struct Group {
    int64_t row = 0;
    std::vector<int64_t> prompts;
  };
  std::vector<Group> groups;  ///< rows with at least one prompt
  int64_t prompts = 0;
};

/// Attention with q/k/v projections to dim/downsample channels, split into heads.
struct SamAttention {
  SamAttention() = default;
  SamAttention(SamParams& p, const std::string& prefix, int64_t dim, int64_t heads, int64_t downsample);
  /// The reference computation: q [N,Tq,C], k and v [N,Tk,C] -> [N,Tq,C].
  at::Tensor operator()(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) const;
  /// Tokens [N,T,C] attending to image rows: keys_pe (keys + positional encoding) and keys
  /// [B,L,C], prompts on rows as `groups` say -> [N,T,C]. The key and value projections are folded
  /// into the T queries (q_h W_k,h against keys_pe; the softmax-weighted sum of the raw keys, then
  /// W_v,h): two thirds fewer multiplies than projecting the L image tokens. Same values up to
  /// float rounding (the key bias adds a constant to each query's scores, which the softmax ignores).
  at::Tensor token_to_image(const at::Tensor& queries, const at::Tensor& keys_pe, const at::Tensor& keys,
                            const PromptGroups& groups) const;
  /// Image rows attending to the tokens, plus the residual: out[n] = keys[row(n)] + attention of
  /// queries keys_pe[row(n)] to the tokens k_in [N,T,C] (keys) and v_in [N,T,C] (values) ->
  /// [N,L,C]. The query projection is folded into the tokens' keys and out_proj into their values,
  /// so each prompt costs two thin matrix products over its L rows (T * heads wide).
  at::Tensor image_to_token(const at::Tensor& keys_pe, const at::Tensor& keys, const at::Tensor& k_in,
                            const at::Tensor& v_in, const PromptGroups& groups) const;
  Linear q_proj, k_proj, v_proj, out_proj;
  int64_t heads = 0;
};

struct SamTwoWayBlock {
  SamTwoWayBlock(SamParams& p, const std::string& prefix, int64_t dim, int64_t heads, int64_t mlp_dim,
                 bool skip_first_pe);
  /// queries [N,T,C], keys [B,L,C] with each prompt's row given by `groups`, key_pe [1,L,C] ->
  /// updated (queries, keys [N,L,C], row n = prompt n).
  std::pair<at::Tensor, at::Tensor> operator()(at::Tensor queries, const at::Tensor& keys, const at::Tensor& query_pe,
                                               const at::Tensor& key_pe, const PromptGroups& groups) const;
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
  /// The first layer reads each image's tokens for all of its prompts at once.
  std::pair<at::Tensor, at::Tensor> operator()(const at::Tensor& image, const at::Tensor& image_pe,
                                               const at::Tensor& tokens, const at::Tensor& image_index = {}) const;
  std::vector<SamTwoWayBlock> layers;
  SamAttention final_attn;
  LayerNorm norm_final;
};

}  // namespace voxseg::models::detail
