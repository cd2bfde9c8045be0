#include "voxseg/models/detail/unet_modules.h"

#include <ATen/autocast_mode.h>

namespace voxseg::models::detail {

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

}  // namespace voxseg::models::detail
