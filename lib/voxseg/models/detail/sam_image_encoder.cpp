#include "voxseg/models/detail/sam_image_encoder.h"

#include <torch/torch.h>

#include <algorithm>

namespace voxseg::models::detail {

namespace {

/// Largest number of (batch x head) score matrices of one global attention held at once, so a
/// 4096-token map does not need B*heads*64 MiB in one piece.
int64_t score_chunk(int64_t tokens) {
  const int64_t budget = int64_t{256} << 20;  // bytes of float scores
  return std::max<int64_t>(1, budget / std::max<int64_t>(1, tokens * tokens * 4));
}

}  // namespace

at::Tensor sam_relative_positions(const at::Tensor& rel_pos, int64_t size) {
  const int64_t length = 2 * size - 1;
  at::Tensor table = rel_pos;
  if (table.size(0) != length) {
    table = at::upsample_linear1d(rel_pos.to(at::kFloat).t().unsqueeze(0), {length}, false)
                .squeeze(0)
                .t()
                .to(rel_pos.scalar_type());
  }
  const at::Tensor idx = at::arange(size, at::TensorOptions().dtype(at::kLong).device(rel_pos.device()));
  const at::Tensor rel = idx.unsqueeze(1) - idx.unsqueeze(0) + (size - 1);
  return table.index({rel});
}

SamVitAttention::SamVitAttention(SamParams& p, const std::string& prefix, int64_t dim, int64_t h, int64_t grid)
    : qkv(p, join(prefix, "qkv"), dim, 3 * dim, true), proj(p, join(prefix, "proj"), dim, dim, true), heads(h) {
  rel_pos_h = p.add(join(prefix, "rel_pos_h"), {2 * grid - 1, dim / h}, true);
  rel_pos_w = p.add(join(prefix, "rel_pos_w"), {2 * grid - 1, dim / h}, true);
}

at::Tensor SamVitAttention::operator()(const at::Tensor& x) const {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const int64_t hd = C / heads;
  const int64_t L = H * W;
  // [B,L,3,heads,hd] -> [3, B*heads, L, hd]
  const at::Tensor t = qkv(x).reshape({B, L, 3, heads, hd}).permute({2, 0, 3, 1, 4}).reshape({3, B * heads, L, hd});
  const at::Tensor q = t[0], k = t[1], v = t[2];
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  const at::Tensor Rh = sam_relative_positions(rel_pos_h, H);  // [H,H,hd]
  const at::Tensor Rw = sam_relative_positions(rel_pos_w, W);  // [W,W,hd]
  const int64_t n = B * heads;
  const int64_t chunk = std::min(n, score_chunk(L));
  std::vector<at::Tensor> outs;
  for (int64_t s = 0; s < n; s += chunk) {
    const int64_t e = std::min(n, s + chunk);
    const at::Tensor qc = q.slice(0, s, e), kc = k.slice(0, s, e), vc = v.slice(0, s, e);
    const int64_t m = e - s;
    const at::Tensor scores = at::matmul(qc * scale, kc.transpose(-2, -1));  // [m,L,L]
    // Decomposed relative positions use the unscaled query: bias[y,x,ky] = q[y,x] . Rh[y,ky].
    const at::Tensor rq = qc.reshape({m, H, W, hd});
    const at::Tensor bias_h = at::einsum("bhwc,hkc->bhwk", {rq, Rh});  // [m,H,W,H]
    const at::Tensor bias_w = at::einsum("bhwc,wkc->bhwk", {rq, Rw});  // [m,H,W,W]
    // In place, and softmax in the scores' own type: CPU softmax accumulates bf16 in float and
    // rounds once, so this equals softmax-in-float-then-round without two [m,L,L] float copies
    // (half the time of a global-attention block in bf16).
    scores.view({m, H, W, H, W}).add_(bias_h.unsqueeze(4)).add_(bias_w.unsqueeze(3));
    outs.push_back(at::matmul(at::softmax(scores, -1), vc));  // [m,L,hd]
  }
  const at::Tensor o = outs.size() == 1 ? outs[0] : at::cat(outs, 0);
  return proj(o.view({B, heads, H, W, hd}).permute({0, 2, 3, 1, 4}).reshape({B, H, W, C}));
}

SamVitBlock::SamVitBlock(SamParams& p, const std::string& prefix, int64_t dim, int64_t heads, int64_t w, int64_t grid)
    : norm1(p, join(prefix, "norm1"), dim, 1e-6),
      norm2(p, join(prefix, "norm2"), dim, 1e-6),
      attn(p, join(prefix, "attn"), dim, heads, w > 0 ? w : grid),
      lin1(p, join(prefix, "mlp.lin1"), dim, 4 * dim, true),
      lin2(p, join(prefix, "mlp.lin2"), 4 * dim, dim, true),
      window(w) {}

at::Tensor SamVitBlock::operator()(const at::Tensor& x) const {
  at::Tensor y = norm1(x);
  if (window > 0) {
    const int64_t B = y.size(0), H = y.size(1), W = y.size(2), C = y.size(3);
    const int64_t ph = (window - H % window) % window, pw = (window - W % window) % window;
    if (ph || pw) y = at::constant_pad_nd(y, {0, 0, 0, pw, 0, ph}, 0);
    const int64_t Hp = H + ph, Wp = W + pw, nh = Hp / window, nw = Wp / window;
    y = y.view({B, nh, window, nw, window, C}).permute({0, 1, 3, 2, 4, 5}).reshape({B * nh * nw, window, window, C});
    y = attn(y);
    y = y.view({B, nh, nw, window, window, C}).permute({0, 1, 3, 2, 4, 5}).reshape({B, Hp, Wp, C});
    if (ph || pw) y = y.slice(1, 0, H).slice(2, 0, W);
  } else {
    y = attn(y);
  }
  at::Tensor out = x + y;
  return out + lin2(at::gelu(lin1(norm2(out))));
}

SamImageEncoder::SamImageEncoder(SamParams& p, const SamConfig& c)
    : patch_embed(p, "image_encoder.patch_embed.proj", 3, c.embed_dim, c.patch_size, c.patch_size, 0, true, false,
                  true) {
  const int64_t grid = c.image_size / c.patch_size;
  pos_embed = p.add("image_encoder.pos_embed", {1, grid, grid, c.embed_dim}, true);
  for (int64_t i = 0; i < c.depth; ++i) {
    const bool global = std::find(c.global_attn_indexes.begin(), c.global_attn_indexes.end(), i) !=
                        c.global_attn_indexes.end();
    blocks.emplace_back(p, "image_encoder.blocks." + std::to_string(i), c.embed_dim, c.num_heads,
                        global ? 0 : c.window_size, grid);
  }
  neck0 = Conv2d(p, "image_encoder.neck.0", c.embed_dim, c.out_chans, 1, 1, 0, false, false, true);
  neck1 = LayerNorm2d(p, "image_encoder.neck.1", c.out_chans);
  neck2 = Conv2d(p, "image_encoder.neck.2", c.out_chans, c.out_chans, 3, 1, 1, false, false, true);
  neck3 = LayerNorm2d(p, "image_encoder.neck.3", c.out_chans);
}

at::Tensor SamImageEncoder::embed_patches(const at::Tensor& images) const {
  return patch_embed(images).permute({0, 2, 3, 1}) + pos_embed;
}

at::Tensor SamImageEncoder::apply_neck(const at::Tensor& tokens) const {
  at::Tensor x = tokens.permute({0, 3, 1, 2});
  x = neck1(neck0(x));
  return neck3(neck2(x));
}

at::Tensor SamImageEncoder::operator()(const at::Tensor& images) const {
  at::Tensor x = embed_patches(images);
  for (const auto& b : blocks) x = b(x);
  return apply_neck(x);
}

}  // namespace voxseg::models::detail
