#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "voxseg/models/device.h"
#include "voxseg/models/unet_config.h"

namespace torch::nn {
class Module;
}

namespace voxseg::models {

/// Named tensors in a fixed order, like PyTorch's state_dict() (nnU-Net names, see docs/model-bundles.md).
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

namespace detail {
class UNetImpl;
}

/// Native LibTorch U-Net with the structure and parameter names of nnU-Net v2's PlainConvUNet or
/// (config.encoder "residual") ResidualEncoderUNet (docs/model-bundles.md, "nnU-Net name mapping"),
/// 2D or 3D. Parameters are float32; reduced
/// precision runs through PrecisionScope (autocast) with transposed convolutions kept in float32.
/// Weights start with nnU-Net's initialisation (He normal, a = 0.01; biases 0; norm weights 1).
class UNet {
 public:
  /// Throws Error(BadModel) naming the field when the configuration is inconsistent.
  explicit UNet(const UNetConfig& config);

  const UNetConfig& config() const;
  /// Logits of the full-resolution head, [B, num_classes, spatial...]. Throws Error(BadInput) when
  /// the input's rank or channels differ from the configuration or a spatial size is not a multiple
  /// of total_strides().
  at::Tensor forward(const at::Tensor& x);
  /// The checks of forward (rank, channels, multiples of total_strides()), without running it.
  void check_input(const at::Tensor& x) const;
  /// Deep supervision: the seg head of every decoder stage, in nnU-Net's order (full resolution
  /// first, then each coarser stage); n_stages - 1 tensors. Used by training.
  std::vector<at::Tensor> forward_all(const at::Tensor& x);

  /// Every parameter once (no aliases), for optimizers.
  std::vector<at::Tensor> parameters() const;
  void train(bool on = true);
  bool is_training() const;
  void to(const c10::Device& device);
  c10::Device device() const;

  /// Parameters and buffers under nnU-Net names. with_aliases adds the entries PyTorch's
  /// PlainConvUNet / ResidualEncoderUNet state_dict() also has (`...all_modules.N...` and
  /// `decoder.encoder.*`), in PyTorch's order, so the list equals the PyTorch network's
  /// state_dict().keys() one to one. Tensors share storage with the network.
  StateDict state_dict(bool with_aliases = false) const;

  /// The underlying torch::nn::Module (for torch::save / torch::optim in torch-aware .cpp files).
  std::shared_ptr<torch::nn::Module> module() const;

 private:
  std::shared_ptr<detail::UNetImpl> impl_;
};

/// Copies `weights` into `net`, checking names and shapes. Accepts PyTorch's alias entries
/// (`all_modules.N`, `decoder.encoder.*`) in place of or besides the canonical ones. Throws
/// Error(BadModel) "'<source>': ..." naming the first unknown, mis-shaped or missing parameter.
void load_state_dict(UNet& net, const StateDict& weights, const std::string& source);

/// Reads named tensors from `path`: LibTorch's archive format (what write_weights and torch::save of a
/// module write), or a Python torch.save file (zip format) holding a state_dict() OrderedDict, a
/// plain dict of tensors, or an nnU-Net checkpoint (its "network_weights"), read by the checkpoint
/// module. Throws Error(BadModel) naming the file.
StateDict read_weights(const std::filesystem::path& path);

/// Writes the network's parameters and buffers in LibTorch's archive format under nnU-Net names,
/// atomically. Throws Error(CannotWrite).
void write_weights(const UNet& net, const std::filesystem::path& path, bool overwrite);

/// Enables autocast for `precision` on `device` for its lifetime (bf16 on CPU or CUDA, fp16 on
/// CUDA); fp32 does nothing. Throws Error(NoDevice) for fp16 on the CPU.
class PrecisionScope {
 public:
  PrecisionScope(Precision precision, const c10::Device& device);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  bool cpu_ = false, cuda_ = false;
  bool previous_cpu_ = false, previous_cuda_ = false;
  c10::ScalarType previous_cpu_dtype_{}, previous_cuda_dtype_{};
};

}  // namespace voxseg::models
