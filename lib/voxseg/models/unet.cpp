#include "voxseg/models/unet.h"

#include <ATen/autocast_mode.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <unordered_map>
#include <unordered_set>

#include "voxseg/core/atomic_file.h"
#include "voxseg/checkpoint/pth_reader.h"
#include "voxseg/core/error.h"
#include "voxseg/models/detail/shape_text.h"

namespace voxseg::models {
namespace detail {

// The modules mirror dynamic_network_architectures' classes so that LibTorch's own names
// (named_parameters, torch::save) are nnU-Net's. Only defined tensors are registered, like PyTorch
// (no bias entry when conv_bias is false, no norm entries for a non-affine instance norm).

// ATen 1.13's CPU heuristic sends small float32 batches (one tile, few channels: N*C*D*H <= 20480 with
// 3x3x3 kernels) to its im2col "slow" convolution, which is ~13x slower per tile here than oneDNN for
// voxseg's small models at --batch-size 1. Without gradients and autocast, oneDNN is called directly.
at::Tensor run_conv(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride,
                    at::IntArrayRef padding, int dims) {
  if (x.device().is_cpu() && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat && x.size(0) == 1 &&
      !at::GradMode::is_enabled() && !at::autocast::is_cpu_enabled() && at::hasMKLDNN()) {
    const std::vector<int64_t> dilation(size_t(dims), 1);
    return at::mkldnn_convolution(x.contiguous(), w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt,
                                  padding, stride, dilation, 1);
  }
  return dims == 3 ? at::conv3d(x, w, b, stride, padding) : at::conv2d(x, w, b, stride, padding);
}

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

// StackedConvBlocks: `convs` holds n blocks; the first one carries the stage's stride.
class StackedConvBlocksImpl : public torch::nn::Module {
 public:
  StackedConvBlocksImpl(const UNetConfig& c, int64_t n, int64_t in, int64_t out, const std::vector<int64_t>& kernel,
                        const std::vector<int64_t>& first_stride) {
    convs_list = register_module("convs", torch::nn::ModuleList());
    for (int64_t i = 0; i < n; ++i) {
      auto block = std::make_shared<ConvBlockImpl>(c, i == 0 ? in : out, out, kernel,
                                                   i == 0 ? first_stride : std::vector<int64_t>(size_t(c.dims), 1));
      convs_list->push_back(block);
      convs.push_back(block);
    }
  }
  at::Tensor forward(at::Tensor x) {
    for (auto& block : convs) x = block->forward(x);
    return x;
  }
  torch::nn::ModuleList convs_list{nullptr};
  std::vector<std::shared_ptr<ConvBlockImpl>> convs;
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

// StackedResidualBlocks: `blocks` holds n BasicBlockD; the first one carries the stage's stride.
class StackedResidualBlocksImpl : public torch::nn::Module {
 public:
  StackedResidualBlocksImpl(const UNetConfig& c, int64_t n, int64_t in, int64_t out, const std::vector<int64_t>& kernel,
                            const std::vector<int64_t>& first_stride) {
    auto list = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < n; ++i) {
      auto block = std::make_shared<BasicBlockImpl>(c, i == 0 ? in : out, out, kernel,
                                                    i == 0 ? first_stride : std::vector<int64_t>(size_t(c.dims), 1));
      list->push_back(block);
      blocks.push_back(block);
    }
  }
  at::Tensor forward(at::Tensor x) {
    for (auto& block : blocks) x = block->forward(x);
    return x;
  }
  std::vector<std::shared_ptr<BasicBlockImpl>> blocks;
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

}  // namespace detail

namespace {

using detail::UNetImpl;

void append_module_tensors(StateDict& out, const std::string& prefix, const torch::nn::Module& m) {
  for (const auto& p : m.named_parameters(false))
    if (p.value().defined()) out.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : m.named_buffers(false))
    if (b.value().defined()) out.emplace_back(prefix + b.key(), b.value());
}

void append_block(StateDict& out, const std::string& prefix, const detail::ConvBlockImpl& block, bool aliases) {
  append_module_tensors(out, prefix + "conv.", *block.conv);
  if (block.norm) append_module_tensors(out, prefix + "norm.", *block.norm);
  if (!aliases) return;
  // ConvDropoutNormReLU.all_modules = Sequential(conv, norm, nonlin) without dropout.
  append_module_tensors(out, prefix + "all_modules.0.", *block.conv);
  if (block.norm) append_module_tensors(out, prefix + "all_modules.1.", *block.norm);
}

void append_stacked(StateDict& out, const std::string& prefix, const detail::StackedConvBlocksImpl& stacked,
                    bool aliases) {
  for (size_t i = 0; i < stacked.convs.size(); ++i)
    append_block(out, prefix + "convs." + std::to_string(i) + ".", *stacked.convs[i], aliases);
}

void append_plain_encoder(StateDict& out, const std::string& prefix, const detail::EncoderImpl& encoder,
                          bool aliases) {
  for (size_t s = 0; s < encoder.stages.size(); ++s)
    append_stacked(out, prefix + "stages." + std::to_string(s) + ".0.", *encoder.stages[s], aliases);
}

// BasicBlockD registers conv1, conv2, (nonlin2,) skip: its state_dict lists them in that order.
void append_basic_block(StateDict& out, const std::string& prefix, const detail::BasicBlockImpl& block, bool aliases) {
  append_block(out, prefix + "conv1.", *block.conv1, aliases);
  append_block(out, prefix + "conv2.", *block.conv2, aliases);
  if (block.projection) append_block(out, prefix + (block.pool ? "skip.1." : "skip.0."), *block.projection, aliases);
}

void append_residual_encoder(StateDict& out, const std::string& prefix, const detail::ResidualEncoderImpl& encoder,
                             bool aliases) {
  append_stacked(out, prefix + "stem.", *encoder.stem, aliases);
  for (size_t s = 0; s < encoder.stages.size(); ++s)
    for (size_t b = 0; b < encoder.stages[s]->blocks.size(); ++b)
      append_basic_block(out, prefix + "stages." + std::to_string(s) + ".blocks." + std::to_string(b) + ".",
                         *encoder.stages[s]->blocks[b], aliases);
}

void append_encoder(StateDict& out, const std::string& prefix, const UNetImpl& net, bool aliases) {
  if (net.residual_encoder)
    append_residual_encoder(out, prefix, *net.residual_encoder, aliases);
  else
    append_plain_encoder(out, prefix, *net.encoder, aliases);
}

using detail::shape_text;

[[noreturn]] void rethrow_torch(const c10::Error& e, ExitCode code, const std::string& what) {
  std::string msg = e.what_without_backtrace();
  if (const auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  fail(code, "{}: {}", what, msg);
}

}  // namespace

UNet::UNet(const UNetConfig& config) {
  try {
    check_unet_config(config);
  } catch (const std::invalid_argument& e) {
    fail(ExitCode::BadModel, "invalid U-Net configuration: {}", e.what());
  }
  impl_ = std::make_shared<UNetImpl>(config);
}

const UNetConfig& UNet::config() const { return impl_->config; }

namespace {
void check_input(const UNetConfig& c, const at::Tensor& x) {
  if (!x.defined() || x.dim() != c.dims + 2)
    fail(ExitCode::BadInput, "U-Net input must be [B, C, {}] with {} spatial axes, got {} dimensions",
         c.dims == 3 ? "Z, Y, X" : "Y, X", c.dims, x.defined() ? x.dim() : 0);
  if (x.size(1) != c.in_channels)
    fail(ExitCode::BadInput, "U-Net expects {} input channel(s), got {}", c.in_channels, x.size(1));
  const auto factors = total_strides(c);
  for (int a = 0; a < c.dims; ++a)
    if (x.size(a + 2) % factors[size_t(a)] != 0)
      fail(ExitCode::BadInput, "U-Net input size {} is not a multiple of the total stride {} on axis {}",
           shape_text(x.sizes().slice(2)), shape_text(factors), a);
}
}  // namespace

std::vector<at::Tensor> UNet::forward_all(const at::Tensor& x) {
  check_input(impl_->config, x);
  return impl_->decoder->forward(impl_->encode(x), true);
}

at::Tensor UNet::forward(const at::Tensor& x) {
  check_input(impl_->config, x);
  return impl_->decoder->forward(impl_->encode(x), false).front();
}

std::vector<at::Tensor> UNet::parameters() const { return impl_->parameters(); }
void UNet::train(bool on) { impl_->train(on); }
bool UNet::is_training() const { return impl_->is_training(); }
void UNet::to(const c10::Device& device) { impl_->to(device); }
c10::Device UNet::device() const {
  const auto params = impl_->parameters();
  return params.empty() ? c10::Device(c10::kCPU) : params.front().device();
}
std::shared_ptr<torch::nn::Module> UNet::module() const { return impl_; }

StateDict UNet::state_dict(bool with_aliases) const {
  StateDict out;
  append_encoder(out, "encoder.", *impl_, with_aliases);
  const auto& decoder = *impl_->decoder;
  if (with_aliases) append_encoder(out, "decoder.encoder.", *impl_, true);
  for (size_t s = 0; s < decoder.stages.size(); ++s)
    append_stacked(out, "decoder.stages." + std::to_string(s) + ".", *decoder.stages[s], with_aliases);
  for (size_t s = 0; s < decoder.transpconvs.size(); ++s)
    append_module_tensors(out, "decoder.transpconvs." + std::to_string(s) + ".", *decoder.transpconvs[s]);
  for (size_t s = 0; s < decoder.seg_layers.size(); ++s)
    append_module_tensors(out, "decoder.seg_layers." + std::to_string(s) + ".", *decoder.seg_layers[s]);
  return out;
}

void load_state_dict(UNet& net, const StateDict& weights, const std::string& source) {
  // Canonical entries, then aliases mapped to them through the tensor they share.
  const StateDict canonical = net.state_dict(false);
  std::unordered_map<std::string, size_t> index;
  std::unordered_map<const void*, size_t> by_tensor;
  for (size_t i = 0; i < canonical.size(); ++i) {
    index[canonical[i].first] = i;
    by_tensor[canonical[i].second.unsafeGetTensorImpl()] = i;
  }
  for (const auto& [name, tensor] : net.state_dict(true))
    if (!index.count(name)) index[name] = by_tensor.at(tensor.unsafeGetTensorImpl());

  std::vector<const at::Tensor*> source_of(canonical.size(), nullptr);
  for (const auto& [name, value] : weights) {
    const auto it = index.find(name);
    if (it == index.end())
      fail(ExitCode::BadModel, "'{}': unexpected parameter '{}' (not part of this U-Net architecture)", source, name);
    const at::Tensor& target = canonical[it->second].second;
    if (!value.defined() || value.sizes() != target.sizes())
      fail(ExitCode::BadModel, "'{}': parameter '{}' has shape {} but the architecture expects {}", source, name,
           value.defined() ? shape_text(value.sizes()) : "undefined", shape_text(target.sizes()));
    if (source_of[it->second] == nullptr || canonical[it->second].first == name) source_of[it->second] = &value;
  }
  for (size_t i = 0; i < canonical.size(); ++i)
    if (source_of[i] == nullptr)
      fail(ExitCode::BadModel, "'{}': missing parameter '{}' (shape {})", source, canonical[i].first,
           shape_text(canonical[i].second.sizes()));
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < canonical.size(); ++i) {
    at::Tensor target = canonical[i].second;
    target.copy_(*source_of[i]);
  }
}

namespace {

bool is_zip(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  return in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

StateDict read_pickled_dict(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const c10::IValue value = torch::pickle_load(bytes);
  if (!value.isGenericDict())
    fail(ExitCode::BadModel, "cannot read weights '{}': expected a dict of tensors, found {}", path.string(),
         value.tagKind());
  StateDict out;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor())
      fail(ExitCode::BadModel, "cannot read weights '{}': expected a dict of name -> tensor", path.string());
    out.emplace_back(item.key().toStringRef(), item.value().toTensor());
  }
  return out;
}

}  // namespace

StateDict read_weights(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail(ExitCode::BadModel, "cannot read weights '{}': no such file", path.string());
  if (!is_zip(path))
    fail(ExitCode::BadModel,
         "cannot read weights '{}': not a LibTorch archive or torch.save file (no zip header; legacy "
         "non-zip torch.save files are not supported)",
         path.string());
  try {
    torch::jit::Module archive = torch::jit::load(path.string(), torch::kCPU);
    StateDict out;
    for (const auto& p : archive.named_parameters(true)) out.emplace_back(p.name, p.value);
    for (const auto& b : archive.named_buffers(true)) out.emplace_back(b.name, b.value);
    return out;
  } catch (const c10::Error&) {
    // Not a LibTorch archive: try the torch.save formats below.
  }
  // A torch.save file: nnU-Net checkpoint ({"network_weights": OrderedDict}), a bare state_dict()
  // (OrderedDict) or a plain dict; the checkpoint module reads all of them.
  try {
    return checkpoint::read_state_dict(path.string());
  } catch (const Error& checkpoint_error) {
    try {
      return read_pickled_dict(path);
    } catch (const std::exception&) {
    }
    fail(ExitCode::BadModel, "cannot read weights '{}': neither a LibTorch archive nor a torch.save state dict ({})",
         path.string(), checkpoint_error.what());
  }
}

void write_weights(const UNet& net, const std::filesystem::path& path, bool overwrite) {
  AtomicFile file(path, overwrite);
  try {
    torch::serialize::OutputArchive archive;
    net.module()->save(archive);
    archive.save_to(file.temp_path().string());
  } catch (const c10::Error& e) {
    rethrow_torch(e, ExitCode::CannotWrite, fmt::format("cannot write weights '{}'", path.string()));
  }
  file.commit();
}

PrecisionScope::PrecisionScope(Precision precision, const c10::Device& device) {
  check_precision(precision, device);
  if (precision == Precision::FP32) return;
  const c10::ScalarType dtype = precision == Precision::BF16 ? at::kBFloat16 : at::kHalf;
  if (device.is_cuda()) {
    cuda_ = true;
    previous_cuda_ = at::autocast::is_enabled();
    previous_cuda_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
  } else {
    cpu_ = true;
    previous_cpu_ = at::autocast::is_cpu_enabled();
    previous_cpu_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

PrecisionScope::~PrecisionScope() {
  if (!cpu_ && !cuda_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(previous_cuda_);
    at::autocast::set_autocast_gpu_dtype(previous_cuda_dtype_);
  }
  if (cpu_) {
    at::autocast::set_cpu_enabled(previous_cpu_);
    at::autocast::set_autocast_cpu_dtype(previous_cpu_dtype_);
  }
}

}  // namespace voxseg::models
