#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace voxseg::models {

/// What the sliding-window engine needs from a network, whatever its backend (native U-Net,
/// TorchScript, nnU-Net checkpoint): float32 tiles [B,C,(Z,)Y,X] in, logits [B,K,(Z,)Y,X] out,
/// on the network's device. Implementations run in eval mode without gradients.
class Network {
 public:
  virtual ~Network() = default;
  virtual int64_t in_channels() const = 0;
  virtual int64_t num_classes() const = 0;
  /// 2 or 3 spatial dimensions.
  virtual int spatial_dims() const = 0;
  /// Logits for a batch of tiles (input on any device; output on the network's device).
  virtual at::Tensor forward(const at::Tensor& tiles) = 0;
  /// "cpu", "cuda:0", ...
  virtual std::string device() const = 0;
  /// What ran the last forward: "onednn" (the native U-Net's oneDNN engine) or "aten".
  virtual std::string forward_path() const { return "aten"; }
};

/// Frees the activation buffers the native U-Net's oneDNN engine keeps between forwards (one
/// forward's worth, shared by all networks of the process), e.g. after the last tile of a case so
/// that what follows has the memory. The next forward allocates them again.
void release_inference_buffers();

}  // namespace voxseg::models
