#pragma once
// Small networks for the engine's tests: any torch module wrapped in voxseg::models::Network.
#include <torch/torch.h>

#include <functional>
#include <memory>

#include "voxseg/models/network.h"

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

}  // namespace testnets
