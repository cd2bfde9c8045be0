#include "voxseg/train/unet.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <stdexcept>

namespace voxseg::train {
namespace {
namespace nn = torch::nn;

std::vector<int64_t> padding_for(const std::vector<int64_t>& kernel) {
  std::vector<int64_t> p;
  for (auto k : kernel) p.push_back((k - 1) / 2);
  return p;
}

struct ConvNormReluImpl : nn::Module {
  ConvNormReluImpl(int64_t in, int64_t out, const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                   const models::UNetConfig& c)
      : slope(c.negative_slope) {
    conv = register_module(
        "conv", nn::Conv3d(nn::Conv3dOptions(in, out, kernel).stride(stride).padding(padding_for(kernel)).bias(c.conv_bias)));
    norm = register_module("norm", nn::InstanceNorm3d(nn::InstanceNorm3dOptions(out).eps(c.norm_eps).affine(c.norm_affine)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::leaky_relu(norm->forward(conv->forward(x)), slope);
  }
  nn::Conv3d conv{nullptr};
  nn::InstanceNorm3d norm{nullptr};
  double slope;
};
TORCH_MODULE(ConvNormRelu);

struct StackedConvsImpl : nn::Module {
  StackedConvsImpl(int64_t n, int64_t in, int64_t out, const std::vector<int64_t>& kernel,
                   const std::vector<int64_t>& first_stride, const models::UNetConfig& c) {
    convs = register_module("convs", nn::Sequential());
    for (int64_t i = 0; i < n; ++i)
      convs->push_back(ConvNormRelu(i == 0 ? in : out, out, kernel, i == 0 ? first_stride : std::vector<int64_t>{1, 1, 1}, c));
  }
  torch::Tensor forward(const torch::Tensor& x) { return convs->forward(x); }
  nn::Sequential convs{nullptr};
};
TORCH_MODULE(StackedConvs);

struct EncoderImpl : nn::Module {
  explicit EncoderImpl(const models::UNetConfig& c) {
    stages = register_module("stages", nn::ModuleList());
    int64_t in = c.in_channels;
    for (int s = 0; s < c.n_stages(); ++s) {
      nn::Sequential stage;
      stage->push_back(StackedConvs(c.n_conv_per_stage[size_t(s)], in, c.features_per_stage[size_t(s)],
                                    c.kernel_sizes[size_t(s)], c.strides[size_t(s)], c));
      stages->push_back(stage);
      in = c.features_per_stage[size_t(s)];
    }
  }
  std::vector<torch::Tensor> forward(torch::Tensor x) {
    std::vector<torch::Tensor> skips;
    for (size_t s = 0; s < stages->size(); ++s) {
      x = stages[s]->as<nn::Sequential>()->forward(x);
      skips.push_back(x);
    }
    return skips;
  }
  nn::ModuleList stages{nullptr};
};
TORCH_MODULE(Encoder);

struct DecoderImpl : nn::Module {
  explicit DecoderImpl(const models::UNetConfig& c) : deep_supervision(c.deep_supervision) {
    stages = register_module("stages", nn::ModuleList());
    transpconvs = register_module("transpconvs", nn::ModuleList());
    seg_layers = register_module("seg_layers", nn::ModuleList());
    const int n = c.n_stages();
    for (int s = 1; s < n; ++s) {
      const int64_t below = c.features_per_stage[size_t(n - s)];
      const int64_t skip = c.features_per_stage[size_t(n - s - 1)];
      const auto& stride = c.strides[size_t(n - s)];
      transpconvs->push_back(nn::ConvTranspose3d(nn::ConvTranspose3dOptions(below, skip, stride).stride(stride).bias(c.conv_bias)));
      stages->push_back(StackedConvs(c.n_conv_per_stage_decoder[size_t(s - 1)], 2 * skip, skip,
                                     c.kernel_sizes[size_t(n - s - 1)], std::vector<int64_t>{1, 1, 1}, c));
      seg_layers->push_back(nn::Conv3d(nn::Conv3dOptions(skip, c.num_classes, 1).bias(true)));
    }
  }
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& skips) {
    torch::Tensor x = skips.back();
    std::vector<torch::Tensor> outs;
    const size_t n = stages->size();
    for (size_t s = 0; s < n; ++s) {
      auto tc = transpconvs[s]->as<nn::ConvTranspose3d>();
      torch::Tensor up;
      if (at::autocast::is_cpu_enabled()) {
        // LibTorch 1.13 has no bf16 ConvTranspose3d on CPU: run it in float32 outside autocast.
        at::autocast::set_cpu_enabled(false);
        up = tc->forward(x.to(torch::kFloat));
        at::autocast::set_cpu_enabled(true);
      } else {
        up = tc->forward(x);
      }
      const auto& skip = skips[skips.size() - s - 2];
      x = torch::cat({up.to(skip.scalar_type()), skip}, 1);
      x = stages[s]->as<StackedConvs>()->forward(x);
      if (deep_supervision || s + 1 == n) outs.push_back(seg_layers[s]->as<nn::Conv3d>()->forward(x));
    }
    std::reverse(outs.begin(), outs.end());
    return outs;
  }
  bool deep_supervision;
  nn::ModuleList stages{nullptr}, transpconvs{nullptr}, seg_layers{nullptr};
};
TORCH_MODULE(Decoder);

struct UNetModule : nn::Module {
  explicit UNetModule(const models::UNetConfig& c) {
    encoder = register_module("encoder", Encoder(c));
    decoder = register_module("decoder", Decoder(c));
  }
  Encoder encoder{nullptr};
  Decoder decoder{nullptr};
};

class UNet final : public TrainableUNet {
 public:
  explicit UNet(const models::UNetConfig& c) : config_(c), module_(std::make_shared<UNetModule>(c)) {
    torch::NoGradGuard no_grad;
    for (auto& m : module_->modules(/*include_self=*/false)) {
      if (auto* conv = m->as<nn::Conv3d>()) {
        torch::nn::init::kaiming_normal_(conv->weight, 1e-2);
        if (conv->bias.defined()) conv->bias.zero_();
      } else if (auto* tc = m->as<nn::ConvTranspose3d>()) {
        torch::nn::init::kaiming_normal_(tc->weight, 1e-2);
        if (tc->bias.defined()) tc->bias.zero_();
      }
    }
  }
  std::vector<at::Tensor> forward(const at::Tensor& x) override {
    return module_->decoder->forward(module_->encoder->forward(x));
  }
  torch::nn::Module& module() override { return *module_; }
  const models::UNetConfig& config() const override { return config_; }

 private:
  models::UNetConfig config_;
  std::shared_ptr<UNetModule> module_;
};

}  // namespace

std::unique_ptr<TrainableUNet> make_unet(const models::UNetConfig& c) {
  const size_t n = size_t(c.n_stages());
  if (c.dims != 3) throw std::invalid_argument("training supports 3D networks only");
  if (n < 1 || c.kernel_sizes.size() != n || c.strides.size() != n || c.n_conv_per_stage.size() != n ||
      c.n_conv_per_stage_decoder.size() + 1 != n)
    throw std::invalid_argument("network lists must have one entry per stage (decoder: one fewer)");
  if (c.norm != "instance") throw std::invalid_argument("training supports instance norm only");
  if (n < 2) throw std::invalid_argument("a U-Net needs at least 2 stages");
  return std::make_unique<UNet>(c);
}

}  // namespace voxseg::train
