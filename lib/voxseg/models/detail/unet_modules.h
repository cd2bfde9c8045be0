#pragma once
// The torch::nn modules of the native U-Net, mirroring dynamic_network_architectures' classes so
// that LibTorch's own names (named_parameters, torch::save) are nnU-Net's. Only defined tensors are
// registered, like PyTorch (no bias entry when conv_bias is false, no norm entries for a non-affine
// instance norm). Private to models: included by unet*.cpp only (torch-aware, TORCH_PCH).
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "voxseg/models/unet_config.h"

namespace voxseg::models::detail {

// Convolution of x with w (and b if defined), with oneDNN called directly for single float32 tiles
// without gradients or autocast (unet_modules.cpp explains why).
at::Tensor run_conv(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride,
                    at::IntArrayRef padding, int dims);

// nn.Conv{2,3}d with "same" padding (k - 1) / 2 (odd kernels only, as checked by the config).
class ConvImpl : public torch::nn::Module {
 public:
  ConvImpl(int dims, int64_t in, int64_t out, std::vector<int64_t> kernel, std::vector<int64_t> stride, bool bias)
      : dims_(dims), stride_(std::move(stride)) {
    std::vector<int64_t> shape{out, in};
    for (int64_t k : kernel) {
      shape.push_back(k);
      padding_.push_back((k - 1) / 2);
    }
    weight = register_parameter("weight", torch::empty(shape));
    torch::nn::init::kaiming_normal_(weight, 1e-2, torch::kFanIn, torch::kLeakyReLU);
    if (bias) bias_ = register_parameter("bias", torch::zeros({out}));
  }
  at::Tensor forward(const at::Tensor& x) { return run_conv(x, weight, bias_, stride_, padding_, dims_); }
  at::Tensor weight, bias_;

 private:
  int dims_;
  std::vector<int64_t> stride_, padding_;
};

// nn.ConvTranspose{2,3}d with kernel = stride. Always computed in float32: in LibTorch 1.13 a bf16
// ConvTranspose on the CPU throws or computes garbage (oneDNN), so reduced precision casts around it.
class TransposedConvImpl : public torch::nn::Module {
 public:
  TransposedConvImpl(int dims, int64_t in, int64_t out, std::vector<int64_t> stride, bool bias)
      : dims_(dims), stride_(std::move(stride)) {
    std::vector<int64_t> shape{in, out};
    shape.insert(shape.end(), stride_.begin(), stride_.end());
    weight = register_parameter("weight", torch::empty(shape));
    torch::nn::init::kaiming_normal_(weight, 1e-2, torch::kFanIn, torch::kLeakyReLU);
    if (bias) bias_ = register_parameter("bias", torch::zeros({out}));
  }
  at::Tensor forward(const at::Tensor& x) {
    const bool cpu_autocast = x.is_cpu() && at::autocast::is_cpu_enabled();
    if (cpu_autocast) at::autocast::set_cpu_enabled(false);
    at::Tensor in = x.is_cpu() ? x.to(at::kFloat) : x;
    at::Tensor y;
    try {
      y = dims_ == 3 ? at::conv_transpose3d(in, weight, bias_, stride_) : at::conv_transpose2d(in, weight, bias_, stride_);
    } catch (...) {
      if (cpu_autocast) at::autocast::set_cpu_enabled(true);
      throw;
    }
    if (cpu_autocast) at::autocast::set_cpu_enabled(true);
    return y;
  }
  at::Tensor weight, bias_;

 private:
  int dims_;
  std::vector<int64_t> stride_;
};

// nn.InstanceNorm / nn.BatchNorm (track_running_stats, momentum 0.1), or nothing.
class NormImpl : public torch::nn::Module {
 public:
  NormImpl(const std::string& kind, int64_t channels, double eps, bool affine)
      : kind_(kind), eps_(eps) {
    if (affine) {
      weight = register_parameter("weight", torch::ones({channels}));
      bias = register_parameter("bias", torch::zeros({channels}));
    }
    if (kind_ == "batch") {
      running_mean = register_buffer("running_mean", torch::zeros({channels}));
      running_var = register_buffer("running_var", torch::ones({channels}));
      num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
    }
  }
  at::Tensor forward(const at::Tensor& x) {
    if (kind_ == "instance")
      return at::instance_norm(x, weight, bias, {}, {}, /*use_input_stats=*/true, 0.1, eps_, at::globalContext().userEnabledCuDNN());
    if (is_training()) {
      torch::NoGradGuard no_grad;
      num_batches_tracked.add_(1);
    }
    return at::batch_norm(x, weight, bias, running_mean, running_var, is_training(), 0.1, eps_,
                          at::globalContext().userEnabledCuDNN());
  }
  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  std::string kind_;
  double eps_;
};

// ConvDropoutNormReLU (no dropout: nnU-Net's default); PyTorch also lists conv/norm under all_modules.
// The residual blocks also use it without the nonlinearity (conv2, skip projection) and without bias
// (skip projection).
class ConvBlockImpl : public torch::nn::Module {
 public:
  ConvBlockImpl(const UNetConfig& c, int64_t in, int64_t out, std::vector<int64_t> kernel, std::vector<int64_t> stride)
      : ConvBlockImpl(c, in, out, std::move(kernel), std::move(stride), c.conv_bias, true) {}
  ConvBlockImpl(const UNetConfig& c, int64_t in, int64_t out, std::vector<int64_t> kernel, std::vector<int64_t> stride,
                bool bias, bool nonlin)
      : slope_(c.negative_slope), nonlin_(nonlin) {
    conv = register_module("conv", std::make_shared<ConvImpl>(c.dims, in, out, kernel, stride, bias));
    if (c.norm != "none") norm = register_module("norm", std::make_shared<NormImpl>(c.norm, out, c.norm_eps, c.norm_affine));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor y = conv->forward(x);
    if (norm) y = norm->forward(y);
    return nonlin_ ? at::leaky_relu(y, slope_) : y;
  }
  std::shared_ptr<ConvImpl> conv;
  std::shared_ptr<NormImpl> norm;

 private:
  double slope_;
  bool nonlin_;
};

// StackedConvBlocks / StackedResidualBlocks: n blocks registered under `list_name` ("convs" or
// "blocks"); the first one carries the stage's stride.
template <typename Block>
class StackedBlocksImpl : public torch::nn::Module {
 public:
  StackedBlocksImpl(const char* list_name, const UNetConfig& c, int64_t n, int64_t in, int64_t out,
                    const std::vector<int64_t>& kernel, const std::vector<int64_t>& first_stride) {
    auto list = register_module(list_name, torch::nn::ModuleList());
    for (int64_t i = 0; i < n; ++i) {
      auto block = std::make_shared<Block>(c, i == 0 ? in : out, out, kernel,
                                           i == 0 ? first_stride : std::vector<int64_t>(size_t(c.dims), 1));
      list->push_back(block);
      blocks.push_back(block);
    }
  }
  at::Tensor forward(at::Tensor x) {
    for (auto& block : blocks) x = block->forward(x);
    return x;
  }
  std::vector<std::shared_ptr<Block>> blocks;
};

// StackedConvBlocks: `convs` holds n ConvDropoutNormReLU.
class StackedConvBlocksImpl : public StackedBlocksImpl<ConvBlockImpl> {
 public:
  StackedConvBlocksImpl(const UNetConfig& c, int64_t n, int64_t in, int64_t out, const std::vector<int64_t>& kernel,
                        const std::vector<int64_t>& first_stride)
      : StackedBlocksImpl("convs", c, n, in, out, kernel, first_stride) {}
};

// PlainConvEncoder with pool='conv': stages.S is a Sequential holding one StackedConvBlocks ("stages.S.0").
class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const UNetConfig& c) {
    auto stage_list = register_module("stages", torch::nn::ModuleList());
    int64_t in = c.in_channels;
    for (int s = 0; s < c.n_stages(); ++s) {
      auto blocks = std::make_shared<StackedConvBlocksImpl>(c, c.n_conv_per_stage[size_t(s)], in,
                                                            c.features_per_stage[size_t(s)], c.kernel_sizes[size_t(s)],
                                                            c.strides[size_t(s)]);
      torch::nn::ModuleList wrapper;
      wrapper->push_back(blocks);
      stage_list->push_back(wrapper);
      stages.push_back(blocks);
      in = c.features_per_stage[size_t(s)];
    }
  }
  std::vector<at::Tensor> forward(at::Tensor x) {
    std::vector<at::Tensor> skips;
    for (auto& stage : stages) {
      x = stage->forward(x);
      skips.push_back(x);
    }
    return skips;
  }
  std::vector<std::shared_ptr<StackedConvBlocksImpl>> stages;
};

// nn.AvgPool{2,3}d(kernel = stride): the first op of BasicBlockD's skip when the block strides (ResNet-D).
// No parameters; registered so the projection after it is "skip.1", as in PyTorch.
class AvgPoolImpl : public torch::nn::Module {
 public:
  AvgPoolImpl(int dims, std::vector<int64_t> stride) : dims_(dims), stride_(std::move(stride)) {}
  at::Tensor forward(const at::Tensor& x) {
    return dims_ == 3 ? at::avg_pool3d(x, stride_, stride_) : at::avg_pool2d(x, stride_, stride_);
  }

 private:
  int dims_;
  std::vector<int64_t> stride_;
};

// BasicBlockD: conv1 (with the block's stride) -> conv2 (no nonlinearity), plus the skip, then the
// nonlinearity. The skip is the identity, or "skip" = [AvgPool(stride) if strided][1x1 conv + norm
// without bias and nonlinearity if the channels change].
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(const UNetConfig& c, int64_t in, int64_t out, const std::vector<int64_t>& kernel,
                 const std::vector<int64_t>& stride)
      : slope_(c.negative_slope) {
    const std::vector<int64_t> ones(size_t(c.dims), 1);
    conv1 = register_module("conv1", std::make_shared<ConvBlockImpl>(c, in, out, kernel, stride, c.conv_bias, true));
    conv2 = register_module("conv2", std::make_shared<ConvBlockImpl>(c, out, out, kernel, ones, c.conv_bias, false));
    const bool strided = std::any_of(stride.begin(), stride.end(), [](int64_t s) { return s != 1; });
    if (strided || in != out) {
      auto skip = register_module("skip", torch::nn::ModuleList());
      if (strided) {
        pool = std::make_shared<AvgPoolImpl>(c.dims, stride);
        skip->push_back(pool);
      }
      if (in != out) {
        projection = std::make_shared<ConvBlockImpl>(c, in, out, ones, ones, /*bias=*/false, /*nonlin=*/false);
        skip->push_back(projection);
      }
    }
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor residual = x;
    if (pool) residual = pool->forward(residual);
    if (projection) residual = projection->forward(residual);
    at::Tensor y = conv2->forward(conv1->forward(x));
    y.add_(residual);  // in place, as PyTorch's `out += residual` (keeps y's dtype under autocast)
    return at::leaky_relu(y, slope_);
  }
  std::shared_ptr<ConvBlockImpl> conv1, conv2;
  std::shared_ptr<AvgPoolImpl> pool;
  std::shared_ptr<ConvBlockImpl> projection;

 private:
  double slope_;
};

// StackedResidualBlocks: `blocks` holds n BasicBlockD.
class StackedResidualBlocksImpl : public StackedBlocksImpl<BasicBlockImpl> {
 public:
  StackedResidualBlocksImpl(const UNetConfig& c, int64_t n, int64_t in, int64_t out, const std::vector<int64_t>& kernel,
                            const std::vector<int64_t>& first_stride)
      : StackedBlocksImpl("blocks", c, n, in, out, kernel, first_stride) {}
};

// ResidualEncoder with pool_type='conv' and the default stem: "stem" is a StackedConvBlocks with one
// conv (kernel of stage 0, stride 1) to stem_features(); "stages.S" is a StackedResidualBlocks (no
// Sequential wrapper, unlike PlainConvEncoder). The skips are the stages' outputs (not the stem's).
class ResidualEncoderImpl : public torch::nn::Module {
 public:
  explicit ResidualEncoderImpl(const UNetConfig& c) {
    const std::vector<int64_t> ones(size_t(c.dims), 1);
    stem = register_module("stem", std::make_shared<StackedConvBlocksImpl>(c, 1, c.in_channels, c.stem_features(),
                                                                            c.kernel_sizes[0], ones));
    auto stage_list = register_module("stages", torch::nn::ModuleList());
    int64_t in = c.stem_features();
    for (int s = 0; s < c.n_stages(); ++s) {
      auto stage = std::make_shared<StackedResidualBlocksImpl>(c, c.n_blocks_per_stage[size_t(s)], in,
                                                               c.features_per_stage[size_t(s)],
                                                               c.kernel_sizes[size_t(s)], c.strides[size_t(s)]);
      stage_list->push_back(stage);
      stages.push_back(stage);
      in = c.features_per_stage[size_t(s)];
    }
  }
  std::vector<at::Tensor> forward(at::Tensor x) {
    x = stem->forward(x);
    std::vector<at::Tensor> skips;
    for (auto& stage : stages) {
      x = stage->forward(x);
      skips.push_back(x);
    }
    return skips;
  }
  // nnU-Net's init_last_bn_before_add_to_0: each block's conv2 norm starts at weight 0, bias 0.
  void zero_last_norms() {
    torch::NoGradGuard no_grad;
    for (auto& stage : stages)
      for (auto& block : stage->blocks)
        if (block->conv2->norm && block->conv2->norm->weight.defined()) {
          block->conv2->norm->weight.zero_();
          block->conv2->norm->bias.zero_();
        }
  }
  std::shared_ptr<StackedConvBlocksImpl> stem;
  std::vector<std::shared_ptr<StackedResidualBlocksImpl>> stages;
};

// UNetDecoder: stage s upsamples from encoder stage n-s to n-s-1, concatenates the skip, convolves.
// PyTorch's decoder also holds the encoder (state_dict lists it again as decoder.encoder.*); it is
// not registered here so optimizers see each parameter once, and state_dict(true) adds the aliases.
class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(const UNetConfig& c) {
    auto stage_list = register_module("stages", torch::nn::ModuleList());
    auto transp_list = register_module("transpconvs", torch::nn::ModuleList());
    auto seg_list = register_module("seg_layers", torch::nn::ModuleList());
    const int n = c.n_stages();
    for (int s = 1; s < n; ++s) {
      const int64_t below = c.features_per_stage[size_t(n - s)];
      const int64_t skip = c.features_per_stage[size_t(n - s - 1)];
      auto transp = std::make_shared<TransposedConvImpl>(c.dims, below, skip, c.strides[size_t(n - s)], c.conv_bias);
      auto stage = std::make_shared<StackedConvBlocksImpl>(c, c.n_conv_per_stage_decoder[size_t(s - 1)], 2 * skip, skip,
                                                           c.kernel_sizes[size_t(n - s - 1)],
                                                           std::vector<int64_t>(size_t(c.dims), 1));
      auto seg = std::make_shared<ConvImpl>(c.dims, skip, c.num_classes, std::vector<int64_t>(size_t(c.dims), 1),
                                            std::vector<int64_t>(size_t(c.dims), 1), true);
      stage_list->push_back(stage);
      transp_list->push_back(transp);
      seg_list->push_back(seg);
      stages.push_back(stage);
      transpconvs.push_back(transp);
      seg_layers.push_back(seg);
    }
  }
  // all_heads: every stage's seg output, full resolution first; otherwise only the last one.
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& skips, bool all_heads) {
    at::Tensor x = skips.back();
    std::vector<at::Tensor> outputs;
    for (size_t s = 0; s < stages.size(); ++s) {
      at::Tensor up = transpconvs[s]->forward(x);
      const at::Tensor& skip = skips[skips.size() - s - 2];
      x = stages[s]->forward(at::cat({up, skip.to(up.scalar_type())}, 1));
      if (all_heads || s + 1 == stages.size()) outputs.push_back(seg_layers[s]->forward(x));
    }
    std::reverse(outputs.begin(), outputs.end());
    return outputs;
  }
  std::vector<std::shared_ptr<StackedConvBlocksImpl>> stages;
  std::vector<std::shared_ptr<TransposedConvImpl>> transpconvs;
  std::vector<std::shared_ptr<ConvImpl>> seg_layers;
};

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const UNetConfig& c) : config(c) {
    if (c.is_residual()) {
      residual_encoder = register_module("encoder", std::make_shared<ResidualEncoderImpl>(c));
      residual_encoder->zero_last_norms();
    } else {
      encoder = register_module("encoder", std::make_shared<EncoderImpl>(c));
    }
    decoder = register_module("decoder", std::make_shared<DecoderImpl>(c));
  }
  std::vector<at::Tensor> encode(const at::Tensor& x) {
    return residual_encoder ? residual_encoder->forward(x) : encoder->forward(x);
  }
  UNetConfig config;
  std::shared_ptr<EncoderImpl> encoder;                    // PlainConvEncoder, or
  std::shared_ptr<ResidualEncoderImpl> residual_encoder;  // ResidualEncoder (both named "encoder")
  std::shared_ptr<DecoderImpl> decoder;
};

}  // namespace voxseg::models::detail
