#pragma once
// The native U-Net's inference forward on oneDNN primitives (CPU, no gradients): activations in
// the channels-last layout oneDNN's brgemm convolutions prefer on AVX-512/AMX, weights reordered
// (and converted to bf16) once, primitives created once per input shape, conv + bias (+ folded
// batch norm, + LeakyReLU post-op), instance norm + affine + residual + LeakyReLU fused in one pass
// of our own (onednn_norm.h), transposed convs as deconvolution primitives. Private to models:
// no oneDNN type in this header.
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

namespace voxseg::models {
class UNet;
}

namespace voxseg::models::detail {

class OnednnUNet {
 public:
  /// Copies the network's weights (CPU float32); bf16 runs convolutions with bf16 inputs and
  /// weights, float32 accumulation and norms, bf16 activations. Throws std::runtime_error when the
  /// configuration is not supported (onednn_unet_unsupported).
  OnednnUNet(const UNet& net, bool bf16);
  ~OnednnUNet();
  OnednnUNet(const OnednnUNet&) = delete;
  OnednnUNet& operator=(const OnednnUNet&) = delete;

  /// Logits [B, K, spatial...] float32 (dense) of float32 CPU tiles [B, C, spatial...]. Throws
  /// dnnl::error / std::exception when oneDNN cannot run a layer (e.g. bf16 on a CPU without it).
  at::Tensor forward(const at::Tensor& tiles);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Empty when the engine runs `net`'s architecture, else why not (for the debug log).
std::string onednn_unet_unsupported(const UNet& net);

/// False when VOXSEG_ONEDNN_ENGINE=0 (A/B runs and tests of the ATen path).
bool onednn_engine_enabled();

}  // namespace voxseg::models::detail
