#include "voxseg/models/detail/sam_mask_decoder.h"

#include <torch/torch.h>

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
                                                             const at::Tensor& image_index) const {
  const int64_t n = sparse.size(0);
  const at::Tensor out_tokens = at::cat({iou_token, mask_tokens}, 0).unsqueeze(0).expand({n, -1, -1});
  const at::Tensor tokens = at::cat({out_tokens, sparse}, 1);
  // Prompts without a mask input share one dense embedding (expanded, batch stride 0), so every
  // prompt of an image sees the same image tokens until the first layer updates them: keep those
  // at one per image (batch 1, or one per embedding with image_index) and let the first layer
  // project them once per image instead of once per prompt (same values, fewer multiplies).
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
  const at::Tensor iou_out = hs.select(1, 0);
  std::vector<at::Tensor> hyper;
  for (int64_t i = 0; i < kMaskTokens; ++i) hyper.push_back(hypernetworks[i](hs.select(1, 1 + i)));
  const at::Tensor masks = upscaled_masks(image.expand({n, -1, -1}), at::stack(hyper, 1), h, w);
  return {masks, iou_head(iou_out)};
}

namespace {

/// One 2x2 stride-2 transposed conv on channels-last rows: x [n, P, c] -> [n, 4P, o], output row
/// (p, a, b) holding output pixel (2i+a, 2j+b) of input pixel p = (i, j). No pixel shuffle needed.
at::Tensor upscale_rows(const at::Tensor& x, const Conv2d& conv) {
  const int64_t c = conv.weight.size(0), o = conv.weight.size(1);
  const at::Tensor w = conv.weight.permute({0, 2, 3, 1}).reshape({c, 4 * o});  // columns (a, b, o)
  return at::matmul(x, w).view({x.size(0), x.size(1) * 4, o}).add_(conv.bias);
}

}  // namespace

at::Tensor SamMaskDecoder::upscaled_masks(const at::Tensor& tokens, const at::Tensor& hyper_in, int64_t h,
                                          int64_t w) const {
  // The reference upscales a [n, C, h, w] map with ConvTranspose2d, LayerNorm2d, GELU, ConvTranspose2d,
  // GELU and takes the dot product with each mask token's hypernetwork output. The same arithmetic
  // on channels-last rows in block order (i, j, a1, b1, a2, b2) needs no permuted copy of the large
  // activations, and the channel LayerNorm becomes a plain last-dimension layer_norm; only the
  // 4-channel result is reordered to raster pixels.
  const int64_t n = tokens.size(0), t = hyper_in.size(1);
  at::Tensor x = upscale_rows(tokens, up0);                                          // [n, 4hw, C/4]
  x = at::gelu(at::layer_norm(x, {x.size(2)}, up1.weight, up1.bias, 1e-6));
  x = at::gelu(upscale_rows(x, up3));                                                // [n, 16hw, C/8]
  const at::Tensor rows = at::matmul(x, hyper_in.transpose(1, 2));                   // [n, 16hw, t]
  return rows.view({n, h, w, 2, 2, 2, 2, t}).permute({0, 7, 1, 3, 5, 2, 4, 6}).reshape({n, t, 4 * h, 4 * w});
}

}  // namespace voxseg::models::detail
