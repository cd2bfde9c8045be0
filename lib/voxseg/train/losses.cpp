#include "voxseg/train/losses.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace voxseg::train {

at::Tensor dice_ce_loss(const at::Tensor& logits_in, const at::Tensor& target, double ce_weight, double dice_weight) {
  const auto logits = logits_in.to(torch::kFloat);
  const auto t = target.to(torch::kLong);
  const int64_t k = logits.size(1);
  const auto ce = torch::nn::functional::cross_entropy(logits, t);
  if (k < 2 || dice_weight == 0) return ce * ce_weight;
  const auto probs = torch::softmax(logits, 1);
  auto onehot = torch::zeros_like(probs);
  onehot.scatter_(1, t.unsqueeze(1), 1.0);
  std::vector<int64_t> axes{0};
  for (int64_t d = 2; d < logits.dim(); ++d) axes.push_back(d);
  const auto p = probs.slice(1, 1), g = onehot.slice(1, 1);  // no background
  const auto intersect = (p * g).sum(axes);
  const auto sum_pred = p.sum(axes);
  const auto sum_gt = g.sum(axes);
  const double smooth = 1e-5;
  const auto dc = (2 * intersect + smooth) / torch::clamp(sum_gt + sum_pred + smooth, 1e-8);
  return ce * ce_weight - dc.mean() * dice_weight;
}

std::vector<double> deep_supervision_weights(int n) {
  if (n <= 1) return {1.0};
  std::vector<double> w(static_cast<size_t>(n), 0.0);
  double total = 0;
  for (int i = 0; i < n; ++i) {
    w[size_t(i)] = i == n - 1 ? 0.0 : 1.0 / std::pow(2.0, i);
    total += w[size_t(i)];
  }
  for (auto& x : w) x /= total;
  return w;
}

at::Tensor deep_supervision_loss(const std::vector<at::Tensor>& outputs, const at::Tensor& target) {
  const auto w = deep_supervision_weights(int(outputs.size()));
  at::Tensor total;
  const auto t = target.to(torch::kFloat).unsqueeze(1);
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (w[i] == 0) continue;
    at::Tensor ti = target;
    const auto out_size = outputs[i].sizes().slice(2).vec();
    if (out_size != target.sizes().slice(1).vec()) {
      ti = torch::nn::functional::interpolate(
               t, torch::nn::functional::InterpolateFuncOptions().size(out_size).mode(torch::kNearest))
               .squeeze(1)
               .to(torch::kLong);
    }
    const auto li = dice_ce_loss(outputs[i], ti) * w[i];
    total = total.defined() ? total + li : li;
  }
  return total;
}

double poly_lr(double initial, int64_t epoch, int64_t max_epochs, double exponent) {
  if (max_epochs <= 0) return initial;
  const double f = std::max(0.0, 1.0 - double(epoch) / double(max_epochs));
  return initial * std::pow(f, exponent);
}

std::vector<double> dice_per_label(const at::Tensor& pred, const at::Tensor& ref, int64_t num_classes) {
  std::vector<double> out;
  const auto p = pred.to(torch::kLong), r = ref.to(torch::kLong);
  for (int64_t c = 1; c < num_classes; ++c) {
    const auto pc = p == c, rc = r == c;
    const double inter = double((pc & rc).sum().item<int64_t>());
    const double sum = double(pc.sum().item<int64_t>() + rc.sum().item<int64_t>());
    out.push_back(sum == 0 ? std::numeric_limits<double>::quiet_NaN() : 2 * inter / sum);
  }
  return out;
}

at::Tensor instance_target(const at::Tensor& instances) {
  const auto lab = instances.to(torch::kLong);
  auto boundary = torch::zeros_like(lab, torch::kBool);
  for (int64_t d = 0; d < lab.dim(); ++d) {
    const int64_t n = lab.size(d);
    if (n < 2) continue;
    const auto diff = lab.narrow(d, 1, n - 1) != lab.narrow(d, 0, n - 1);
    boundary.narrow(d, 1, n - 1).logical_or_(diff);
    boundary.narrow(d, 0, n - 1).logical_or_(diff);
  }
  const auto fg = lab > 0;
  auto out = torch::zeros(lab.sizes(), torch::kUInt8);
  out.masked_fill_(fg, 1);
  out.masked_fill_(fg & boundary, 2);
  return out;
}

}  // namespace voxseg::train
