// Detects a SAM configuration from the shapes of a state dict.
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "voxseg/core/error.h"
#include "voxseg/models/sam.h"

namespace voxseg::models {

namespace {

using Weights = std::vector<std::pair<std::string, at::Tensor>>;

/// Indices i of names "<prefix><i>.<rest>".
std::set<int64_t> indices(const Weights& w, const std::string& prefix) {
  std::set<int64_t> out;
  for (const auto& [name, t] : w) {
    if (name.rfind(prefix, 0) != 0) continue;
    const size_t dot = name.find('.', prefix.size());
    const std::string num = name.substr(prefix.size(), dot == std::string::npos ? std::string::npos : dot - prefix.size());
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos || num.size() > 6) continue;
    out.insert(std::stoll(num));
  }
  return out;
}

std::string shape_text(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

struct Named {
  const std::string& source;
  std::unordered_map<std::string, at::Tensor> map;

  const at::Tensor& get(const std::string& name, int64_t rank) const {
    const auto it = map.find(name);
    if (it == map.end()) fail(ExitCode::BadModel, "'{}': not a SAM checkpoint: missing parameter '{}'", source, name);
    if (it->second.dim() != rank)
      fail(ExitCode::BadModel, "'{}': parameter '{}' has shape {}, expected {} dimensions", source, name,
           shape_text(it->second), rank);
    return it->second;
  }
  bool has(const std::string& name) const { return map.count(name) != 0; }
};

int64_t count_consecutive(const std::set<int64_t>& ids, const std::string& what, const std::string& source) {
  if (ids.empty()) fail(ExitCode::BadModel, "'{}': not a SAM checkpoint: no {}", source, what);
  const int64_t n = *ids.rbegin() + 1;
  if (static_cast<int64_t>(ids.size()) != n) {
    for (int64_t i = 0; i < n; ++i)
      if (!ids.count(i)) fail(ExitCode::BadModel, "'{}': missing {} {} (found up to {})", source, what, i, n - 1);
  }
  return n;
}

}  // namespace

SamConfig detect_sam_config(const Weights& weights, const std::string& source) {
  Named w{source, {}};
  for (const auto& [name, t] : weights) w.map.emplace(name, t);
  if (!w.has("image_encoder.patch_embed.proj.weight"))
    fail(ExitCode::BadModel, "'{}': not a SAM checkpoint (no 'image_encoder.patch_embed.proj.weight' among {} tensors)",
         source, weights.size());
  SamConfig c;
  const at::Tensor& patch = w.get("image_encoder.patch_embed.proj.weight", 4);
  c.embed_dim = patch.size(0);
  c.patch_size = patch.size(2);
  if (patch.size(1) != 3 || patch.size(3) != c.patch_size)
    fail(ExitCode::BadModel, "'{}': image_encoder.patch_embed.proj.weight has shape {}, expected [E, 3, p, p]", source,
         shape_text(patch));
  const at::Tensor& pos = w.get("image_encoder.pos_embed", 4);
  const int64_t grid = pos.size(1);
  if (pos.size(0) != 1 || pos.size(2) != grid || pos.size(3) != c.embed_dim)
    fail(ExitCode::BadModel, "'{}': image_encoder.pos_embed has shape {}, expected [1, g, g, {}]", source,
         shape_text(pos), c.embed_dim);
  c.image_size = grid * c.patch_size;
  c.depth = count_consecutive(indices(weights, "image_encoder.blocks."), "image encoder block", source);
  const at::Tensor& rel0 = w.get("image_encoder.blocks.0.attn.rel_pos_h", 2);
  const int64_t head_dim = rel0.size(1);
  if (head_dim <= 0 || c.embed_dim % head_dim != 0)
    fail(ExitCode::BadModel, "'{}': rel_pos_h width {} does not divide the embedding width {}", source, head_dim,
         c.embed_dim);
  c.num_heads = c.embed_dim / head_dim;
  int64_t window = 0;
  for (int64_t i = 0; i < c.depth; ++i) {
    const std::string name = "image_encoder.blocks." + std::to_string(i) + ".attn.rel_pos_h";
    const int64_t rows = w.get(name, 2).size(0);
    if (rows == 2 * grid - 1 && (window == 0 || rows != 2 * window - 1)) {
      c.global_attn_indexes.push_back(i);
    } else if (rows % 2 == 1 && (window == 0 || rows == 2 * window - 1)) {
      window = (rows + 1) / 2;
    } else {
      fail(ExitCode::BadModel, "'{}': {} has {} rows; expected {} (global attention) or {} (windowed)", source, name,
           rows, 2 * grid - 1, window ? 2 * window - 1 : 27);
    }
  }
  // A window as large as the grid is global attention; keep SAM's 14 when every block is global.
  c.window_size = window ? window : 14;
  c.out_chans = w.get("image_encoder.neck.0.weight", 4).size(0);
  if (w.has("prompt_encoder.mask_downscaling.3.weight"))
    c.mask_in_chans = w.get("prompt_encoder.mask_downscaling.3.weight", 4).size(0);
  c.decoder_depth = count_consecutive(indices(weights, "mask_decoder.transformer.layers."), "mask decoder layer", source);
  c.decoder_mlp_dim = w.get("mask_decoder.transformer.layers.0.mlp.lin1.weight", 2).size(0);
  c.decoder_iou_depth =
      count_consecutive(indices(weights, "mask_decoder.iou_prediction_head.layers."), "IoU head layer", source);
  c.decoder_iou_hidden = w.get("mask_decoder.iou_prediction_head.layers.0.weight", 2).size(0);
  if (c.out_chans % (8 * c.decoder_heads) != 0 || c.mask_in_chans % 4 != 0)
    fail(ExitCode::BadModel, "'{}': unsupported widths (neck {} channels, mask input {} channels)", source,
         c.out_chans, c.mask_in_chans);

  struct Official { const char* name; int64_t embed, depth, heads; std::vector<int64_t> globals; };
  static const Official officials[] = {{"vit_b", 768, 12, 12, {2, 5, 8, 11}},
                                       {"vit_l", 1024, 24, 16, {5, 11, 17, 23}},
                                       {"vit_h", 1280, 32, 16, {7, 15, 23, 31}}};
  c.variant = "custom";
  for (const auto& o : officials) {
    if (o.embed == c.embed_dim && o.depth == c.depth && o.heads == c.num_heads && o.globals == c.global_attn_indexes &&
        c.image_size == 1024 && c.patch_size == 16 && c.window_size == 14 && c.out_chans == 256)
      c.variant = o.name;
  }
  return c;
}

}  // namespace voxseg::models
