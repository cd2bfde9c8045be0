#pragma once
// Small networks for the engine's tests: any torch module wrapped in voxseg::models::Network.
#include <torch/torch.h>

#include <functional>
#include <memory>

#include "voxseg/models/bundle.h"
#include "voxseg/models/network.h"
#include "voxseg/models/unet.h"

namespace testnets {

class ModuleNetwork : public voxseg::models::Network {
 public:
  using Fn = std::function<at::Tensor(const at::Tensor&)>;
  ModuleNetwork(Fn fn, int64_t in, int64_t classes, int dims)
      : fn_(std::move(fn)), in_(in), classes_(classes), dims_(dims) {}
  int64_t in_channels() const override { return in_; }
  int64_t num_classes() const override { return classes_; }
  int spatial_dims() const override { return dims_; }
  at::Tensor forward(const at::Tensor& x) override {
    torch::NoGradGuard guard;
    ++calls;
    return fn_(x);
  }
  std::string device() const override { return "cpu"; }
  int calls = 0;

 private:
  Fn fn_;
  int64_t in_, classes_;
  int dims_;
};

/// Random conv net (kernel k, zero padding): translation-equivariant except near tile borders when k > 1.
inline std::shared_ptr<ModuleNetwork> conv_net(int64_t in, int64_t classes, int64_t kernel, int dims = 3,
                                               uint64_t seed = 1) {
  torch::manual_seed(seed);
  if (dims == 3) {
    torch::nn::Sequential s(torch::nn::Conv3d(torch::nn::Conv3dOptions(in, 8, kernel).padding(kernel / 2)),
                            torch::nn::Tanh(),
                            torch::nn::Conv3d(torch::nn::Conv3dOptions(8, classes, kernel).padding(kernel / 2)));
    return std::make_shared<ModuleNetwork>([s](const at::Tensor& x) mutable { return s->forward(x); }, in, classes, 3);
  }
  torch::nn::Sequential s(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, 8, kernel).padding(kernel / 2)),
                          torch::nn::Tanh(),
                          torch::nn::Conv2d(torch::nn::Conv2dOptions(8, classes, kernel).padding(kernel / 2)));
  return std::make_shared<ModuleNetwork>([s](const at::Tensor& x) mutable { return s->forward(x); }, in, classes, 2);
}

/// Logits (-x, x) for one channel: argmax is (x > 0). Pointwise, so tiling cannot change it.
inline std::shared_ptr<ModuleNetwork> sign_net(int dims) {
  return std::make_shared<ModuleNetwork>([](const at::Tensor& x) { return torch::cat({-x, x}, 1); }, 1, 2, dims);
}

// A random native U-Net (2 stages, 4 and 8 features, instance norm) as predict runs it.
inline std::shared_ptr<voxseg::models::Network> native_unet(int dims, int64_t in, int64_t classes, uint64_t seed) {
  voxseg::models::UNetConfig c;
  c.dims = dims;
  c.in_channels = in;
  c.num_classes = classes;
  c.features_per_stage = {4, 8};
  const std::vector<int64_t> k(size_t(dims), 3), s1(size_t(dims), 1), s2(size_t(dims), 2);
  c.kernel_sizes = {k, k};
  c.strides = {s1, s2};
  c.n_conv_per_stage = {2, 2};
  c.n_conv_per_stage_decoder = {2};
  torch::manual_seed(seed);
  voxseg::models::UNet net(c);
  return voxseg::models::make_unet_network(c, net.state_dict(), "test", "unet", torch::kCPU,
                                           voxseg::models::Precision::FP32);
}

}  // namespace testnets
