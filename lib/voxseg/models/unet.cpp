#include "voxseg/models/unet.h"

#include <torch/torch.h>

#include <unordered_map>

#include "voxseg/core/error.h"
#include "voxseg/models/detail/shape_text.h"
#include "voxseg/models/detail/unet_modules.h"

// The UNet class: construction, forward, nnU-Net parameter names (state_dict) and load_state_dict.
// Its modules are in detail/unet_modules.h, weight files in unet_weights.cpp.
namespace voxseg::models {

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
  for (size_t i = 0; i < stacked.blocks.size(); ++i)
    append_block(out, prefix + "convs." + std::to_string(i) + ".", *stacked.blocks[i], aliases);
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
  models::check_input(impl_->config, x);
  return impl_->decoder->forward(impl_->encode(x), true);
}

void UNet::check_input(const at::Tensor& x) const { models::check_input(impl_->config, x); }

at::Tensor UNet::forward(const at::Tensor& x) {
  models::check_input(impl_->config, x);
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

}  // namespace voxseg::models
