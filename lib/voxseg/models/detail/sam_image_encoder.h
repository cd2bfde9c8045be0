#pragma once
// SAM's ViT image encoder (image_encoder.*): 16x16 patch embedding, absolute position embedding,
// transformer blocks with windowed or global attention and decomposed relative positions, and a
// neck down to out_chans channels.
#include <ATen/core/Tensor.h>

#include <vector>

#include "voxseg/models/detail/sam_layers.h"
#include "voxseg/models/sam.h"

namespace voxseg::models::detail {

/// Multi-head self-attention over a [B,H,W,C] grid with decomposed relative position embeddings.
struct SamVitAttention {
  SamVitAttention() = default;
  SamVitAttention(SamParams& p, const std::string& prefix, int64_t dim, int64_t heads, int64_t grid);
  at::Tensor operator()(const at::Tensor& x) const;
  Linear qkv, proj;
  at::Tensor rel_pos_h, rel_pos_w;  ///< [2*grid-1, head_dim]
  int64_t heads = 0;
};

struct SamVitBlock {
  SamVitBlock() = default;
  /// window 0 = global attention over the whole (grid x grid) token map.
  SamVitBlock(SamParams& p, const std::string& prefix, int64_t dim, int64_t heads, int64_t window, int64_t grid);
  at::Tensor operator()(const at::Tensor& x) const;  ///< [B,H,W,C] -> same
  LayerNorm norm1, norm2;
  SamVitAttention attn;
  Linear lin1, lin2;
  int64_t window = 0;
};

struct SamImageEncoder {
  SamImageEncoder(SamParams& p, const SamConfig& config);
  /// [B,3,S,S] in the compute dtype -> [B,S/16,S/16,embed] tokens after the position embedding.
  at::Tensor embed_patches(const at::Tensor& images) const;
  /// [B,H,W,embed] -> [B,out_chans,H,W].
  at::Tensor apply_neck(const at::Tensor& tokens) const;
  /// Full encoder: [B,3,S,S] -> [B,out_chans,S/16,S/16] in the compute dtype.
  at::Tensor operator()(const at::Tensor& images) const;

  Conv2d patch_embed;
  at::Tensor pos_embed;  ///< [1,grid,grid,embed]
  std::vector<SamVitBlock> blocks;
  Conv2d neck0, neck2;
  LayerNorm2d neck1, neck3;
};

/// Rel-pos table for query/key axis length `size` from a [2*size-1, C] embedding: [size, size, C]
/// with entry (i, j) = rel_pos[i - j + size - 1]. Interpolates linearly when the table's length differs.
at::Tensor sam_relative_positions(const at::Tensor& rel_pos, int64_t size);

}  // namespace voxseg::models::detail
