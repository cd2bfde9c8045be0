#pragma once
// SAM's mask decoder (mask_decoder.*): an IoU token and 4 mask tokens join the prompt tokens in the
// two-way transformer; the image is upscaled 4x and each mask token's hypernetwork MLP gives the
// weights of a dot product with the upscaled image; an MLP on the IoU token predicts mask quality.
#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

#include "voxseg/models/detail/sam_layers.h"
#include "voxseg/models/detail/sam_two_way_transformer.h"
#include "voxseg/models/sam.h"

namespace voxseg::models::detail {

struct SamMaskDecoder {
  static constexpr int64_t kMaskTokens = 4;  ///< 3 multimask outputs + 1 single-mask output

  SamMaskDecoder(SamParams& p, const SamConfig& config);
  /// embedding [1,C,h,w] (or [N,...], or [B,...] with image_index [N] int64 naming each prompt's
  /// embedding), dense_pe [1,C,h,w], sparse [N,T,C], dense [N,C,h,w] -> masks [N,K,4h,4w] and IoU
  /// predictions [N,K] of the mask tokens first_mask .. first_mask + K - 1 (K = mask_count; by
  /// default all 4; only those masks are computed).
  std::pair<at::Tensor, at::Tensor> operator()(const at::Tensor& embedding, const at::Tensor& dense_pe,
                                               const at::Tensor& sparse, const at::Tensor& dense,
                                               const at::Tensor& image_index = {}, int64_t first_mask = 0,
                                               int64_t mask_count = kMaskTokens) const;
  /// Upscaled image tokens [N, h*w, C] dotted with the hypernetwork outputs [N, K, C/8] -> [N, K, 4h, 4w].
  at::Tensor upscaled_masks(const at::Tensor& tokens, const at::Tensor& hyper_in, int64_t h, int64_t w) const;

  SamTwoWayTransformer transformer;
  at::Tensor iou_token, mask_tokens;
  Conv2d up0, up3;
  LayerNorm2d up1;
  std::vector<MlpHead> hypernetworks;
  MlpHead iou_head;
};

}  // namespace voxseg::models::detail
