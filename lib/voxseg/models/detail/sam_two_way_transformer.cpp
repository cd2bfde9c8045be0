#include "voxseg/models/detail/sam_two_way_transformer.h"

#include <torch/torch.h>

#include <cmath>

namespace voxseg::models::detail {

SamAttention::SamAttention(SamParams& p, const std::string& prefix, int64_t dim, int64_t h, int64_t downsample)
    : q_proj(p, join(prefix, "q_proj"), dim, dim / downsample, false),
      k_proj(p, join(prefix, "k_proj"), dim, dim / downsample, false),
      v_proj(p, join(prefix, "v_proj"), dim, dim / downsample, false),
      out_proj(p, join(prefix, "out_proj"), dim / downsample, dim, false),
      heads(h) {}

at::Tensor SamAttention::operator()(const at::Tensor& q_in, const at::Tensor& k_in, const at::Tensor& v_in) const {
  return attend(q_proj(q_in), k_proj(k_in), v_proj(v_in));
}

at::Tensor SamAttention::attend(const at::Tensor& q_rows, const at::Tensor& k_rows, const at::Tensor& v_rows) const {
  const auto split = [&](const at::Tensor& x) {  // [N,L,D] -> [N,heads,L,D/heads]
    return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
  };
  const at::Tensor q = split(q_rows), k = split(k_rows), v = split(v_rows);
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1));
  scores.div_(std::sqrt(static_cast<double>(q.size(-1))));  // in place: the same values, one temporary less
  const at::Tensor o = at::matmul(at::softmax(scores, -1), v);  // [N,heads,T,d]
  return out_proj(o.transpose(1, 2).reshape({o.size(0), o.size(2), o.size(1) * o.size(3)}));
}

SamTwoWayBlock::SamTwoWayBlock(SamParams& p, const std::string& pre, int64_t dim, int64_t heads, int64_t mlp_dim,
                               bool skip)
    : self_attn(p, join(pre, "self_attn"), dim, heads, 1),
      cross_token_to_image(p, join(pre, "cross_attn_token_to_image"), dim, heads, 2),
      cross_image_to_token(p, join(pre, "cross_attn_image_to_token"), dim, heads, 2),
      norm1(p, join(pre, "norm1"), dim, 1e-5),
      norm2(p, join(pre, "norm2"), dim, 1e-5),
      norm3(p, join(pre, "norm3"), dim, 1e-5),
      norm4(p, join(pre, "norm4"), dim, 1e-5),
      lin1(p, join(pre, "mlp.lin1"), dim, mlp_dim, false),
      lin2(p, join(pre, "mlp.lin2"), mlp_dim, dim, false),
      skip_first_pe(skip) {}

std::pair<at::Tensor, at::Tensor> SamTwoWayBlock::operator()(at::Tensor queries, at::Tensor keys,
                                                             const at::Tensor& query_pe, const at::Tensor& key_pe,
                                                             const at::Tensor& image_index) const {
  if (skip_first_pe) {
    queries = self_attn(queries, queries, queries);
  } else {
    const at::Tensor q = queries + query_pe;
    queries = queries + self_attn(q, q, queries);
  }
  queries = norm1(queries);
  // Both cross attentions see the same keys + pe; image-token projections are computed at the keys'
  // own batch (one per image in the first layer) and then picked per prompt.
  const at::Tensor keys_pe = keys + key_pe;
  const auto per_prompt = [&](const at::Tensor& x) { return image_index.defined() ? x.index_select(0, image_index) : x; };
  const SamAttention& t2i = cross_token_to_image;
  queries = norm2(queries + t2i.attend(t2i.q_proj(queries + query_pe), per_prompt(t2i.k_proj(keys_pe)),
                                       per_prompt(t2i.v_proj(keys))));
  queries = norm3(queries + lin2(at::relu(lin1(queries))));
  const SamAttention& i2t = cross_image_to_token;
  keys = norm4(per_prompt(keys) + i2t.attend(per_prompt(i2t.q_proj(keys_pe)), i2t.k_proj(queries + query_pe),
                                             i2t.v_proj(queries)));
  return {queries, keys};
}

SamTwoWayTransformer::SamTwoWayTransformer(SamParams& p, const std::string& pre, int64_t depth, int64_t dim,
                                           int64_t heads, int64_t mlp_dim) {
  // Registration order follows the module's own: layers, then final attention, then its norm.
  for (int64_t i = 0; i < depth; ++i)
    layers.emplace_back(p, join(pre, "layers." + std::to_string(i)), dim, heads, mlp_dim, i == 0);
  final_attn = SamAttention(p, join(pre, "final_attn_token_to_image"), dim, heads, 2);
  norm_final = LayerNorm(p, join(pre, "norm_final_attn"), dim, 1e-5);
}

std::pair<at::Tensor, at::Tensor> SamTwoWayTransformer::operator()(const at::Tensor& image, const at::Tensor& image_pe,
                                                                   const at::Tensor& tokens,
                                                                   const at::Tensor& image_index) const {
  // Image tokens as contiguous rows: the adds of the positional encoding then stream through
  // memory instead of striding across a transposed view.
  at::Tensor keys = image.flatten(2).transpose(1, 2).contiguous();
  const at::Tensor key_pe = image_pe.flatten(2).transpose(1, 2).contiguous();
  at::Tensor queries = tokens;
  at::Tensor index = image_index;  // only the first layer sees one image per (group of) prompt(s)
  for (const auto& layer : layers) {
    std::tie(queries, keys) = layer(queries, keys, tokens, key_pe, index);
    index = at::Tensor();
  }
  if (index.defined()) keys = keys.index_select(0, index);
  queries = norm_final(queries + final_attn(queries + tokens, keys + key_pe, keys));
  return {queries, keys};
}

}  // namespace voxseg::models::detail
