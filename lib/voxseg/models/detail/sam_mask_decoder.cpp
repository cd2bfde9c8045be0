#include "voxseg/models/detail/sam_mask_decoder.h"

#include <torch/torch.h>

#include <algorithm>

namespace voxseg::models::detail {

SamMaskDecoder::SamMaskDecoder(SamParams& p, const SamConfig& c)
    : transformer(p, "mask_decoder.transformer", c.decoder_depth, c.out_chans, c.decoder_heads, c.decoder_mlp_dim) {
  const int64_t d = c.out_chans;
  iou_token = embedding(p, "mask_decoder.iou_token", 1, d);
  mask_tokens = embedding(p, "mask_decoder.mask_tokens", kMaskTokens, d);
  up0 = Conv2d(p, "mask_decoder.output_upscaling.0", d, d / 4, 2, 2, 0, true, true, false);
  up1 = LayerNorm2d(p, "mask_decoder.output_upscaling.1", d / 4);
  up3 = Conv2d(p, "mask_decoder.output_upscaling.3", d / 4, d / 8, 2, 2, 0, true, true, false);
  for (int64_t i = 0; i < kMaskTokens; ++i)
    hypernetworks.emplace_back(p, "mask_decoder.output_hypernetworks_mlps." + std::to_string(i), d, d, d / 8, 3);
  iou_head = MlpHead(p, "mask_decoder.iou_prediction_head", d, c.decoder_iou_hidden, kMaskTokens, c.decoder_iou_depth);
}

std::pair<at::Tensor, at::Tensor> SamMaskDecoder::operator()(const at::Tensor& embedding, const at::Tensor& dense_pe,
                                                             const at::Tensor& sparse, const at::Tensor& dense,
                                                             const at::Tensor& image_index, int64_t first_mask,
                                                             int64_t mask_count) const {
  const int64_t n = sparse.size(0);
  const at::Tensor out_tokens = at::cat({iou_token, mask_tokens}, 0).unsqueeze(0).expand({n, -1, -1});
  const at::Tensor tokens = at::cat({out_tokens, sparse}, 1);
  // Prompts without a mask input share one dense embedding (expanded, batch stride 0), so every
  // prompt of an image sees the same image tokens until the first layer updates them: keep those
  // at one per image (batch 1, or one per embedding with image_index) and let the first layer
  // read them once per image for all of its prompts (same values, fewer passes).
  const bool shared = dense.size(0) == 1 || dense.stride(0) == 0;
  at::Tensor src, index;
  if (shared && (embedding.size(0) == 1 || image_index.defined())) {
    src = embedding + dense.slice(0, 0, 1);
    index = image_index;
  } else {
    const at::Tensor per_prompt = image_index.defined() ? embedding.index_select(0, image_index)
                                  : embedding.size(0) == n ? embedding
                                                           : embedding.expand({n, -1, -1, -1});
    src = per_prompt + dense;
  }
  const int64_t h = src.size(2), w = src.size(3);
  auto [hs, image] = transformer(src, dense_pe, tokens, index);
  std::vector<at::Tensor> hyper;
  for (int64_t i = first_mask; i < first_mask + mask_count; ++i) hyper.push_back(hypernetworks[size_t(i)](hs.select(1, 1 + i)));
  const at::Tensor masks = upscaled_masks(image, at::stack(hyper, 1), h, w);
  return {masks, iou_head(hs.select(1, 0)).slice(1, first_mask, first_mask + mask_count)};
}

at::Tensor SamMaskDecoder::upscaled_masks(const at::Tensor& tokens, const at::Tensor& hyper_in, int64_t h,
                                          int64_t w) const {
  // The reference upscales a [n, C, h, w] map with ConvTranspose2d, LayerNorm2d, GELU, ConvTranspose2d,
  // GELU and takes the dot product with each mask token's hypernetwork output. Each 2x2 stride-2
  // transposed convolution is one matrix product on channels-last rows: input pixel p -> output rows
  // (p, a, b) holding pixel (2i+a, 2j+b), so the rows come out in block order (i, j, a1, b1, a2, b2)
  // with no permuted copy of the large activations, and the channel LayerNorm is a plain last-axis
  // layer_norm. A prompt's image tokens go through in chunks whose intermediates stay in cache; only
  // the t-channel result is reordered to raster pixels.
  const int64_t n = tokens.size(0), l = tokens.size(1), c = tokens.size(2), t = hyper_in.size(1);
  const int64_t c4 = up0.weight.size(1), c8 = up3.weight.size(1);
  const at::Tensor w0 = up0.weight.permute({0, 2, 3, 1}).reshape({c, 4 * c4});  // columns (a, b, o)
  const at::Tensor w3 = up3.weight.permute({0, 2, 3, 1}).reshape({c4, 4 * c8});
  const at::Tensor b0 = up0.bias.repeat({4}), b3 = up3.bias.repeat({4});
  at::Tensor rows = at::empty({n, 16 * l, t}, tokens.options());
  constexpr int64_t kChunk = 512;  // image tokens: ~0.5 MB in, 0.5 MB after up0, 1 MB after up3
  for (int64_t i = 0; i < n; ++i) {
    const at::Tensor hyper_t = hyper_in[i].t();  // [C/8, t]
    for (int64_t start = 0; start < l; start += kChunk) {
      const int64_t m = std::min(kChunk, l - start);
      at::Tensor x = at::addmm(b0, tokens[i].slice(0, start, start + m), w0).view({4 * m, c4});
      x = at::layer_norm(x, {c4}, up1.weight, up1.bias, 1e-6);
      at::gelu_(x);
      at::Tensor y = at::addmm(b3, x, w3).view({16 * m, c8});
      at::gelu_(y);
      at::Tensor dst = rows[i].slice(0, 16 * start, 16 * (start + m));
      at::mm_out(dst, y, hyper_t);
    }
  }
  return rows.view({n, h, w, 2, 2, 2, 2, t}).permute({0, 7, 1, 3, 5, 2, 4, 6}).reshape({n, t, 4 * h, 4 * w});
}

}  // namespace voxseg::models::detail
