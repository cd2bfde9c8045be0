#include "voxseg/models/detail/sam_layers.h"

#include <torch/torch.h>

#include "voxseg/core/error.h"

namespace voxseg::models::detail {

at::Tensor SamParams::add(const std::string& name, std::vector<int64_t> shape, bool reduced) {
  at::Tensor t = at::empty({0}, at::TensorOptions().device(device_).dtype(reduced ? reduced_dtype_ : at::kFloat));
  entries_.push_back({name, std::move(shape), t, reduced});
  return t;
}

void SamParams::bind(const std::vector<at::Tensor>& tensors) {
  if (tensors.size() != entries_.size()) fail(ExitCode::Internal, "SAM: {} tensors for {} parameters", tensors.size(), entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    at::Tensor placeholder = entries_[i].tensor;
    at::Tensor src = tensors[i].to(placeholder.device(), placeholder.scalar_type()).contiguous();
    // set_ rebinds the placeholder's TensorImpl, which every layer holding the handle shares.
    placeholder.set_(src);
  }
}

Linear::Linear(SamParams& p, const std::string& prefix, int64_t in, int64_t out, bool reduced)
    : weight(p.add(join(prefix, "weight"), {out, in}, reduced)), bias(p.add(join(prefix, "bias"), {out}, reduced)) {}

at::Tensor Linear::operator()(const at::Tensor& x) const { return at::linear(x, weight, bias); }

LayerNorm::LayerNorm(SamParams& p, const std::string& prefix, int64_t d, double e)
    : weight(p.add(join(prefix, "weight"), {d})), bias(p.add(join(prefix, "bias"), {d})), dim(d), eps(e) {}

at::Tensor LayerNorm::operator()(const at::Tensor& x) const {
  return at::layer_norm(x.to(at::kFloat), {dim}, weight, bias, eps).to(x.scalar_type());
}

LayerNorm2d::LayerNorm2d(SamParams& p, const std::string& prefix, int64_t channels)
    : weight(p.add(join(prefix, "weight"), {channels})), bias(p.add(join(prefix, "bias"), {channels})) {}

at::Tensor LayerNorm2d::operator()(const at::Tensor& x) const {
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor mean = xf.mean(1, true);
  const at::Tensor centred = xf - mean;
  const at::Tensor var = centred.pow(2).mean(1, true);
  const at::Tensor y = centred / (var + 1e-6).sqrt();
  return (weight.view({1, -1, 1, 1}) * y + bias.view({1, -1, 1, 1})).to(x.scalar_type());
}

Conv2d::Conv2d(SamParams& p, const std::string& prefix, int64_t in, int64_t out, int64_t kernel, int64_t s,
               int64_t pad, bool has_bias, bool t, bool reduced)
    : stride(s), padding(pad), transposed(t) {
  weight = p.add(join(prefix, "weight"), t ? std::vector<int64_t>{in, out, kernel, kernel}
                                           : std::vector<int64_t>{out, in, kernel, kernel}, reduced);
  if (has_bias) bias = p.add(join(prefix, "bias"), {out}, reduced);
}

at::Tensor Conv2d::operator()(const at::Tensor& x) const {
  const c10::optional<at::Tensor> b = bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt;
  if (transposed) return at::conv_transpose2d(x, weight, b, {stride, stride}, {padding, padding});
  return at::conv2d(x, weight, b, {stride, stride}, {padding, padding});
}

MlpHead::MlpHead(SamParams& p, const std::string& prefix, int64_t in, int64_t hidden, int64_t out, int64_t num_layers) {
  for (int64_t i = 0; i < num_layers; ++i) {
    const int64_t a = i == 0 ? in : hidden;
    const int64_t b = i == num_layers - 1 ? out : hidden;
    layers.emplace_back(p, join(prefix, "layers." + std::to_string(i)), a, b, false);
  }
}

at::Tensor MlpHead::operator()(const at::Tensor& x) const {
  at::Tensor y = x;
  for (size_t i = 0; i < layers.size(); ++i) {
    y = layers[i](y);
    if (i + 1 < layers.size()) y = at::relu(y);
  }
  return y;
}

at::Tensor embedding(SamParams& p, const std::string& name, int64_t n, int64_t dim) {
  return p.add(join(name, "weight"), {n, dim});
}

}  // namespace voxseg::models::detail
