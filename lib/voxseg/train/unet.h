#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "voxseg/models/unet_config.h"

namespace torch::nn {
class Module;
}

namespace voxseg::train {

/// A trainable 3D U-Net with nnU-Net v2 PlainConvUNet's structure and parameter names
/// (encoder.stages.S.0.convs.C.{conv,norm}.*, decoder.transpconvs.S.*, decoder.stages.S.convs.C.*,
/// decoder.seg_layers.S.*), so its state dict loads into nnU-Net and into voxseg's native U-Net.
/// Under CPU bf16 autocast the transposed convolutions run in float32 (LibTorch 1.13 has no bf16
/// ConvTranspose3d on CPU).
class TrainableUNet {
 public:
  virtual ~TrainableUNet() = default;
  /// Logits per deep-supervision output, highest resolution first (one output when the config has
  /// deep_supervision off).
  virtual std::vector<at::Tensor> forward(const at::Tensor& x) = 0;
  virtual torch::nn::Module& module() = 0;
  virtual const models::UNetConfig& config() const = 0;
};

/// Builds the network with He initialisation (a = 0.01), as nnU-Net. Only 3D, instance norm.
/// Throws std::invalid_argument for configurations it cannot build.
std::unique_ptr<TrainableUNet> make_unet(const models::UNetConfig& config);

}  // namespace voxseg::train
