#include "voxseg/models/detail/sam_two_way_transformer.h"

#include <torch/torch.h>

#include <cmath>

#include "voxseg/core/error.h"

namespace voxseg::models::detail {
namespace {

bool consecutive(const std::vector<int64_t>& rows) {
  for (size_t i = 1; i < rows.size(); ++i)
    if (rows[i] != rows[0] + int64_t(i)) return false;
  return true;
}

/// Rows `rows` of t along dim 0 (a view when they are consecutive).
at::Tensor pick(const at::Tensor& t, const std::vector<int64_t>& rows) {
  if (consecutive(rows)) return t.slice(0, rows.front(), rows.front() + int64_t(rows.size()));
  return t.index_select(0, torch::tensor(rows, torch::kLong));
}

void put(at::Tensor& dst, const std::vector<int64_t>& rows, const at::Tensor& src) {
  if (consecutive(rows)) dst.slice(0, rows.front(), rows.front() + int64_t(rows.size())).copy_(src);
  else dst.index_copy_(0, torch::tensor(rows, torch::kLong), src);
}

/// x [N,T,heads*dh] times each head's block of a [heads*dh, C] weight: row (n,h,t) = x_h[n,t] W_h
/// -> [N,heads,T,C]. W is given per head as w [heads, dh, C].
at::Tensor per_head(const at::Tensor& x, const at::Tensor& w, int64_t heads) {
  const int64_t n = x.size(0), t = x.size(1), dh = x.size(2) / heads;
  const at::Tensor xh = x.reshape({n * t, heads, dh}).transpose(0, 1);  // [H, N*T, dh]
  return at::bmm(xh, w).view({heads, n, t, w.size(2)}).permute({1, 0, 2, 3}).contiguous();
}

}  // namespace

PromptGroups::PromptGroups(const at::Tensor& index, int64_t rows, int64_t n) : prompts(n) {
  std::vector<int64_t> row_of(size_t(n), 0);
  if (index.defined()) {
    const at::Tensor idx = index.to(torch::kCPU, torch::kLong).contiguous();
    for (int64_t i = 0; i < n; ++i) row_of[size_t(i)] = idx.data_ptr<int64_t>()[i];
  } else if (rows != 1) {
    if (rows != n) fail(ExitCode::Internal, "SAM decoder: {} image rows for {} prompts without an index", rows, n);
    for (int64_t i = 0; i < n; ++i) row_of[size_t(i)] = i;
  }
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(rows));
  for (int64_t i = 0; i < n; ++i) members.at(size_t(row_of[size_t(i)])).push_back(i);
  for (int64_t r = 0; r < rows; ++r)
    if (!members[size_t(r)].empty()) groups.push_back({r, std::move(members[size_t(r)])});
}

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
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1));
  scores.div_(std::sqrt(static_cast<double>(q.size(-1))));  // in place: the same values, one temporary less
  const at::Tensor o = at::matmul(at::softmax(scores, -1), v);  // [N,heads,T,d]
  return out_proj(o.transpose(1, 2).reshape({o.size(0), o.size(2), o.size(1) * o.size(3)}));
}

at::Tensor SamAttention::token_to_image(const at::Tensor& queries, const at::Tensor& keys_pe, const at::Tensor& keys,
                                        const PromptGroups& groups) const {
  const int64_t n = queries.size(0), t = queries.size(1), c = keys.size(2);
  const int64_t d = q_proj.weight.size(0), dh = d / heads;
  // scores_h = (q_h / sqrt(dh)) (keys_pe W_k,h^T + b_k,h)^T = (q_h W_k,h / sqrt(dh)) keys_pe^T + const per row.
  const at::Tensor q = q_proj(queries).mul_(1.0 / std::sqrt(double(dh)));
  const at::Tensor folded = per_head(q, k_proj.weight.view({heads, dh, c}), heads);  // [N,H,T,C]
  // softmax(scores) (keys W_v,h^T + b_v,h) = (softmax(scores) keys) W_v,h^T + b_v,h: rows sum to one.
  at::Tensor weighted = at::empty({n, heads, t, c}, keys.options());
  for (const auto& g : groups.groups) {
    const at::Tensor rows = pick(folded, g.prompts).reshape({-1, c});  // [m*H*T, C]
    const at::Tensor p = at::softmax(at::mm(rows, keys_pe[g.row].t()), -1);  // [m*H*T, L]
    put(weighted, g.prompts, at::mm(p, keys[g.row]).view({-1, heads, t, c}));
  }
  const at::Tensor wv = v_proj.weight.view({heads, dh, c}).transpose(1, 2);  // [H, C, dh]
  const at::Tensor o = at::bmm(weighted.permute({1, 0, 2, 3}).reshape({heads, n * t, c}), wv);  // [H, N*T, dh]
  return out_proj(o.view({heads, n, t, dh}).permute({1, 2, 0, 3}).reshape({n, t, d}) + v_proj.bias);
}

at::Tensor SamAttention::image_to_token(const at::Tensor& keys_pe, const at::Tensor& keys, const at::Tensor& k_in,
                                        const at::Tensor& v_in, const PromptGroups& groups) const {
  const int64_t n = k_in.size(0), t = k_in.size(1), c = keys.size(2), l = keys.size(1);
  const int64_t d = q_proj.weight.size(0), dh = d / heads;
  // scores_h = (keys_pe W_q,h^T + b_q,h) k_h^T / sqrt(dh): fold W_q,h and b_q,h into the tokens' keys.
  const at::Tensor k = k_proj(k_in).mul_(1.0 / std::sqrt(double(dh)));
  const at::Tensor qk = per_head(k, q_proj.weight.view({heads, dh, c}), heads);         // [N,H,T,C]
  const at::Tensor qb = per_head(k, q_proj.bias.view({heads, dh, 1}), heads);           // [N,H,T,1]
  // out = sum_h P_h v_h W_o,h^T + b_o: fold W_o,h into the values; each head's P rows sum to one, so
  // b_o / heads on every folded value row adds b_o.
  const at::Tensor wo = out_proj.weight.view({c, heads, dh}).permute({1, 2, 0});       // [H, dh, C]
  const at::Tensor vo = per_head(v_proj(v_in), wo, heads).add_(out_proj.bias / double(heads));  // [N,H,T,C]
  at::Tensor out = at::empty({n, l, c}, keys.options());
  for (const auto& g : groups.groups) {
    const int64_t m = int64_t(g.prompts.size());
    const at::Tensor scores = at::addmm(pick(qb, g.prompts).reshape({-1, 1}), pick(qk, g.prompts).reshape({-1, c}),
                                        keys_pe[g.row].t());                      // [m*H*T, L]
    const at::Tensor p = at::softmax(scores.view({m, heads, t, l}), 2);          // over the T tokens
    for (int64_t i = 0; i < m; ++i) {
      const int64_t j = g.prompts[size_t(i)];
      at::Tensor dst = out[j];
      at::addmm_out(dst, keys[g.row], p[i].view({heads * t, l}).t(), vo[j].view({heads * t, c}));
    }
  }
  return out;
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

std::pair<at::Tensor, at::Tensor> SamTwoWayBlock::operator()(at::Tensor queries, const at::Tensor& keys,
                                                             const at::Tensor& query_pe, const at::Tensor& key_pe,
                                                             const PromptGroups& groups) const {
  if (skip_first_pe) {
    queries = self_attn(queries, queries, queries);
  } else {
    const at::Tensor q = queries + query_pe;
    queries = queries + self_attn(q, q, queries);
  }
  queries = norm1(queries);
  // Both cross attentions see the same keys + pe, each image row once for all of its prompts.
  const at::Tensor keys_pe = keys + key_pe;
  queries = norm2(queries + cross_token_to_image.token_to_image(queries + query_pe, keys_pe, keys, groups));
  queries = norm3(queries + lin2(at::relu(lin1(queries))));
  const at::Tensor attended = cross_image_to_token.image_to_token(keys_pe, keys, queries + query_pe, queries, groups);
  return {queries, norm4(attended)};
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
  // Image tokens as contiguous rows: the adds of the positional encoding stream through memory.
  at::Tensor keys = image.flatten(2).transpose(1, 2).contiguous();
  const at::Tensor key_pe = image_pe.flatten(2).transpose(1, 2).contiguous();
  const int64_t n = tokens.size(0);
  const PromptGroups shared(image_index, keys.size(0), n);  // only the first layer sees shared rows
  const PromptGroups own(at::Tensor(), n, n);
  at::Tensor queries = tokens;
  bool first = true;
  for (const auto& layer : layers) {
    std::tie(queries, keys) = layer(queries, keys, tokens, key_pe, first ? shared : own);
    first = false;
  }
  if (first && keys.size(0) != n) {  // no layer made the rows per prompt
    std::vector<int64_t> row_of(static_cast<size_t>(n));
    for (const auto& g : shared.groups)
      for (const int64_t j : g.prompts) row_of[size_t(j)] = g.row;
    keys = keys.index_select(0, torch::tensor(row_of, torch::kLong));
  }
  queries = norm_final(queries + final_attn.token_to_image(queries + tokens, keys + key_pe, keys, own));
  return {queries, keys};
}

}  // namespace voxseg::models::detail
