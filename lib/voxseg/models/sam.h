#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "voxseg/models/device.h"

namespace voxseg::models {

/// Shape of a SAM network (Kirillov et al. 2023): a ViT image encoder with windowed attention and a
/// few global-attention blocks, a prompt encoder and a two-way-transformer mask decoder. Detected
/// from a checkpoint's tensor shapes; the named variants are the official ViT-B/L/H.
struct SamConfig {
  std::string variant;  ///< "vit_b" | "vit_l" | "vit_h" | "custom"
  int64_t embed_dim = 0;
  int64_t depth = 0;
  int64_t num_heads = 0;
  std::vector<int64_t> global_attn_indexes;  ///< blocks with global (not windowed) attention
  int64_t image_size = 1024;
  int64_t patch_size = 16;
  int64_t window_size = 14;
  int64_t out_chans = 256;  ///< neck / prompt embedding width
  // Prompt encoder and mask decoder (the same in every official variant; detected anyway).
  int64_t mask_in_chans = 16;       ///< channels of the mask-input downscaling
  int64_t decoder_depth = 2;        ///< two-way transformer layers
  int64_t decoder_heads = 8;        ///< not visible in shapes: SAM's fixed 8
  int64_t decoder_mlp_dim = 2048;
  int64_t decoder_iou_hidden = 256;
  int64_t decoder_iou_depth = 3;
};

namespace detail {
struct SamImpl;
}

/// SAM / MedSAM in LibTorch. Module and parameter names equal the official state-dict keys
/// (image_encoder.*, prompt_encoder.*, mask_decoder.*), so official checkpoints load unconverted.
/// Pimpl; movable, not copyable. encode/decode are const and run without autograd.
class SamModel {
 public:
  /// Loads a .pth: an official SAM/MedSAM state dict, or MedSAM's training checkpoint
  /// {model: ..., optimizer, epoch} (the "model" dict, optional "module." prefixes stripped), and
  /// detects the configuration from the shapes. Throws Error(BadModel) "'<file>': <reason>" (not a
  /// SAM checkpoint, missing / unexpected key, shape mismatch, truncated file...) and
  /// Error(NoDevice) for an unusable device/precision pair.
  static SamModel load(const std::filesystem::path& checkpoint, const c10::Device& device,
                       Precision precision);

  SamModel(SamModel&&) noexcept;
  SamModel& operator=(SamModel&&) noexcept;
  SamModel(const SamModel&) = delete;
  SamModel& operator=(const SamModel&) = delete;
  ~SamModel();

  const SamConfig& config() const;
  /// Hex SHA-256 of the checkpoint file (for cache keys and provenance).
  const std::string& checkpoint_sha256() const;
  Precision precision() const;
  c10::Device device() const;

  /// images: [B,3,S,S] float32 (S = config().image_size), already normalized and padded as the
  /// preset wants. Returns image embeddings [B,out_chans,S/16,S/16] float32 on the CPU.
  /// Throws Error(BadInput) for another shape.
  at::Tensor encode(const at::Tensor& images) const;

  /// SamPredictor.predict_torch's inputs, in the SxS input frame (not yet +0.5-shifted; the
  /// prompt encoder adds the half-pixel shift itself).
  struct Prompts {
    at::Tensor points;        ///< [N,P,2] float (x,y) or undefined
    at::Tensor point_labels;  ///< [N,P] int/float: 1 foreground, 0 background, -1 padding
                              ///< (2/3: box top-left/bottom-right corner, as in SAM's ONNX model); or undefined
    at::Tensor boxes;         ///< [N,4] float x0,y0,x1,y1 or undefined
    at::Tensor mask_input;    ///< [N,1,S/4,S/4] float logits or undefined
    at::Tensor image_index{}; ///< [N] int64: each prompt's embedding when decode gets B > 1 of them;
                              ///< undefined: every prompt on the one embedding
  };
  struct Decoded {
    at::Tensor low_res_logits;  ///< [N,K,S/4,S/4] float32 on the CPU
    at::Tensor iou;             ///< [N,K] float32 on the CPU
  };
  /// One image embedding ([C,h,w] or [1,C,h,w]) and N prompts (at least one of points, boxes,
  /// mask_input; N taken from whichever is given) -> K = 3 masks (multimask: SAM's masks 1..3)
  /// or K = 1 (mask 0). As in SAM, points without a box get a padding point (label -1) appended.
  /// Several images' prompts in one call: embeddings [B,C,h,w] and prompts.image_index; each
  /// prompt's result equals decoding it alone on its own embedding (the first decoder layer reads
  /// each image's tokens in one product for all of its prompts). Only the K returned masks are computed.
  /// Throws Error(BadInput) for inconsistent shapes.
  Decoded decode(const at::Tensor& embedding, const Prompts& prompts, bool multimask) const;

 private:
  explicit SamModel(std::unique_ptr<detail::SamImpl> impl);
  std::unique_ptr<detail::SamImpl> impl_;
};

/// Detects a SAM configuration from state-dict shapes (names without "module."). Throws
/// Error(BadModel) "'<source>': <reason>" when the tensors do not form a SAM network.
SamConfig detect_sam_config(const std::vector<std::pair<std::string, at::Tensor>>& weights,
                            const std::string& source);

}  // namespace voxseg::models
