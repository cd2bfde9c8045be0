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
                                                             const at::Tensor& sparse, const at::Tensor& dense) const {
  const int64_t n = sparse.size(0);
  const at::Tensor out_tokens = at::cat({iou_token, mask_tokens}, 0).unsqueeze(0).expand({n, -1, -1});
  const at::Tensor tokens = at::cat({out_tokens, sparse}, 1);
  // Prompts without a mask input share one dense embedding (expanded, batch stride 0), so every
  // prompt of the slice sees the same image tokens until the first layer updates them: keep those
  // at batch 1 and let the attention broadcast, which computes the first layer's image-token
  // projections once per slice instead of once per prompt (same values, fewer multiplies).
  const bool shared = embedding.size(0) == 1 && (dense.size(0) == 1 || dense.stride(0) == 0);
  const at::Tensor src = shared ? embedding + dense.slice(0, 0, 1)
                                : (embedding.size(0) == n ? embedding : embedding.expand({n, -1, -1, -1})) + dense;
  const at::Tensor pos = shared ? dense_pe : dense_pe.expand({n, -1, -1, -1});
  const int64_t C = src.size(1), h = src.size(2), w = src.size(3);
  auto [hs, image] = transformer(src, pos, tokens);
  const at::Tensor iou_out = hs.select(1, 0);
  const at::Tensor image_grid = image.expand({n, -1, -1}).transpose(1, 2).reshape({n, C, h, w});
  const at::Tensor upscaled = at::gelu(up3(at::gelu(up1(up0(image_grid)))));  // [n, C/8, 4h, 4w]
  std::vector<at::Tensor> hyper;
  for (int64_t i = 0; i < kMaskTokens; ++i) hyper.push_back(hypernetworks[i](hs.select(1, 1 + i)));
  const at::Tensor hyper_in = at::stack(hyper, 1);  // [n,4,C/8]
  const int64_t uc = upscaled.size(1), uh = upscaled.size(2), uw = upscaled.size(3);
  const at::Tensor masks = at::matmul(hyper_in, upscaled.view({n, uc, uh * uw})).view({n, kMaskTokens, uh, uw});
  return {masks, iou_head(iou_out)};
}

}  // namespace voxseg::models::detail
