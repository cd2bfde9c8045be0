#pragma once
// Building blocks of the SAM networks: a registry of parameters under their state-dict names and
// the small layers (linear, layer norm, convolutions, MLPs) that hold them. Layers keep at::Tensor
// handles created by the registry; loading rebinds those handles to the checkpoint's storage.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

namespace voxseg::models::detail {

/// Parameters of a network in registration order with the shapes the architecture expects.
class SamParams {
 public:
  /// Placeholders live on `device`; entries marked reduced use `reduced_dtype`, the others float32.
  SamParams(const c10::Device& device, c10::ScalarType reduced_dtype) : device_(device), reduced_dtype_(reduced_dtype) {}
  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    at::Tensor tensor;       ///< placeholder until bound
    bool reduced = false;    ///< may be held in the reduced compute dtype (matmul/conv weights)
  };
  /// A placeholder tensor the caller keeps; bind() later points it at the loaded data.
  at::Tensor add(const std::string& name, std::vector<int64_t> shape, bool reduced = false);
  const std::vector<Entry>& entries() const { return entries_; }
  /// Points every placeholder at `tensors[i]` (same order as entries()), converted to the device
  /// and dtype of the placeholder and made contiguous.
  void bind(const std::vector<at::Tensor>& tensors);

 private:
  c10::Device device_;
  c10::ScalarType reduced_dtype_;
  std::vector<Entry> entries_;
};

inline std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

struct Linear {
  Linear() = default;
  Linear(SamParams& p, const std::string& prefix, int64_t in, int64_t out, bool reduced);
  at::Tensor operator()(const at::Tensor& x) const;  ///< x [..., in] in the weight's dtype
  at::Tensor weight, bias;
};

/// torch.nn.LayerNorm over the last axis (eps as given), computed in float32, returned in x's dtype.
struct LayerNorm {
  LayerNorm() = default;
  LayerNorm(SamParams& p, const std::string& prefix, int64_t dim, double eps);
  at::Tensor operator()(const at::Tensor& x) const;
  at::Tensor weight, bias;
  int64_t dim = 0;
  double eps = 1e-5;
};

/// SAM's LayerNorm2d: normalizes [B,C,H,W] over C (eps 1e-6), in float32, returned in x's dtype.
struct LayerNorm2d {
  LayerNorm2d() = default;
  LayerNorm2d(SamParams& p, const std::string& prefix, int64_t channels);
  at::Tensor operator()(const at::Tensor& x) const;
  at::Tensor weight, bias;
};

/// Conv2d with square kernel, stride and padding; transposed=true is ConvTranspose2d (stride = kernel).
struct Conv2d {
  Conv2d() = default;
  Conv2d(SamParams& p, const std::string& prefix, int64_t in, int64_t out, int64_t kernel, int64_t stride,
         int64_t padding, bool bias, bool transposed, bool reduced);
  at::Tensor operator()(const at::Tensor& x) const;
  at::Tensor weight, bias;
  int64_t stride = 1, padding = 0;
  bool transposed = false;
};

/// SAM's MLP head: num_layers linears (<prefix>.layers.i), ReLU between them.
struct MlpHead {
  MlpHead() = default;
  MlpHead(SamParams& p, const std::string& prefix, int64_t in, int64_t hidden, int64_t out, int64_t num_layers);
  at::Tensor operator()(const at::Tensor& x) const;
  std::vector<Linear> layers;
};

/// A single nn.Embedding weight [n, dim].
at::Tensor embedding(SamParams& p, const std::string& name, int64_t n, int64_t dim);

}  // namespace voxseg::models::detail
