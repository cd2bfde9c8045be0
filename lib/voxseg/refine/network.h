#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace voxseg::refine {

/// What refinement needs from a promptable segmentation network (SAM's image encoder + prompt
/// encoder + mask decoder). An interface so the engine's bookkeeping is tested without SAM weights.
class PromptNetwork {
 public:
  virtual ~PromptNetwork() = default;
  virtual int64_t image_size() const = 0;  ///< S: the encoder's square input
  /// Identity for the embedding cache (the checkpoint's sha256 and the precision).
  virtual std::string identity() const = 0;
  /// [B,3,S,S] float32 preprocessed -> embeddings [B,C,S/16,S/16] float32.
  virtual at::Tensor encode(const at::Tensor& images) = 0;
  /// N prompts of one shape on embeddings [B,C,h,w]: points [N,P,2] xy and labels [N,P]
  /// (undefined when none), boxes [N,4] xyxy (undefined when none), in the S x S frame;
  /// image_index [N] int64 names each prompt's embedding (undefined: B = 1, all on it). Returns
  /// low-res logits [N,K,S/4,S/4] float32 and predicted IoU [N,K] (K = 3 with multimask, else 1),
  /// each prompt's as if it were decoded alone on its embedding.
  struct Decoded {
    at::Tensor low_res_logits, iou;
  };
  virtual Decoded decode(const at::Tensor& embeddings, const at::Tensor& image_index, const at::Tensor& points,
                         const at::Tensor& point_labels, const at::Tensor& box, bool multimask) = 0;
};

/// SAM / MedSAM weights (segment-anything key layout) through models::SamModel.
/// Throws Error(BadModel) for a wrong or truncated checkpoint, Error(NoDevice)/(Usage) for the device.
std::unique_ptr<PromptNetwork> load_sam_network(const std::filesystem::path& checkpoint, const std::string& device,
                                                const std::string& precision);

}  // namespace voxseg::refine
