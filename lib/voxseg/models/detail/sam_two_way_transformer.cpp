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
  const auto split = [&](const at::Tensor& x) {  // [N,L,D] -> [N,heads,L,D/heads]
    return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
  };
  const at::Tensor q = split(q_proj(q_in)), k = split(k_proj(k_in)), v = split(v_proj(v_in));
  const at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
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
                                                             const at::Tensor& query_pe,
                                                             const at::Tensor& key_pe) const {
  if (skip_first_pe) {
    queries = self_attn(queries, queries, queries);
  } else {
    const at::Tensor q = queries + query_pe;
    queries = queries + self_attn(q, q, queries);
  }
  queries = norm1(queries);
  queries = norm2(queries + cross_token_to_image(queries + query_pe, keys + key_pe, keys));
  queries = norm3(queries + lin2(at::relu(lin1(queries))));
  keys = norm4(keys + cross_image_to_token(keys + key_pe, queries + query_pe, queries));
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
                                                                   const at::Tensor& tokens) const {
  at::Tensor keys = image.flatten(2).permute({0, 2, 1});
  const at::Tensor key_pe = image_pe.flatten(2).permute({0, 2, 1});
  at::Tensor queries = tokens;
  for (const auto& layer : layers) std::tie(queries, keys) = layer(queries, keys, tokens, key_pe);
  queries = norm_final(queries + final_attn(queries + tokens, keys + key_pe, keys));
  return {queries, keys};
}

}  // namespace voxseg::models::detail
