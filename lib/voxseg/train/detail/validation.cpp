#include "voxseg/train/detail/validation.h"

#include <torch/torch.h>

#include <cmath>
#include <memory>

#include "voxseg/core/stop_signal.h"
#include "voxseg/infer/sliding_window.h"
#include "voxseg/models/network.h"
#include "voxseg/train/losses.h"

namespace voxseg::train::detail {
namespace {

// The network as the sliding-window engine sees it.
class EvalNetwork : public models::Network {
 public:
  EvalNetwork(models::UNet& net, models::Precision precision) : net_(net), precision_(precision) {}
  int64_t in_channels() const override { return net_.config().in_channels; }
  int64_t num_classes() const override { return net_.config().num_classes; }
  int spatial_dims() const override { return net_.config().dims; }
  at::Tensor forward(const at::Tensor& tiles) override {
    torch::NoGradGuard no_grad;
    models::PrecisionScope scope(precision_, net_.device());
    return net_.forward(tiles.to(net_.device())).to(torch::kFloat);
  }
  std::string device() const override { return net_.device().str(); }

 private:
  models::UNet& net_;
  models::Precision precision_;
};

}  // namespace

DiceSums validation_dice(models::UNet& net, models::Precision precision, const std::vector<CaseArrays>& cases,
                         const TrainPlan& plan, int64_t num_classes) {
  DiceSums s{std::vector<double>(size_t(num_classes - 1), 0.0), std::vector<double>(size_t(num_classes - 1), 0.0)};
  net.train(false);
  auto adapter = std::make_shared<EvalNetwork>(net, precision);
  infer::WindowOptions w;
  w.patch_size.assign(plan.patch_size.begin(), plan.patch_size.end());
  w.mirror = false;
  w.batch_size = 1;
  for (const auto& c : cases) {
    if (stop_signal()) break;
    const auto logits = infer::sliding_window_logits(c.image, {adapter}, w);
    const auto d = dice_per_label(logits.argmax(0), c.label, num_classes);
    for (size_t k = 0; k < d.size(); ++k)
      if (std::isfinite(d[k])) s.sum[k] += d[k], s.count[k] += 1;
  }
  net.train(true);
  return s;
}

std::vector<double> dice_means(const DiceSums& s) {
  std::vector<double> out;
  for (size_t k = 0; k < s.sum.size(); ++k) out.push_back(s.count[k] > 0 ? s.sum[k] / s.count[k] : std::nan(""));
  return out;
}

double finite_mean(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / n : std::nan("");
}

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(); }

}  // namespace voxseg::train::detail
