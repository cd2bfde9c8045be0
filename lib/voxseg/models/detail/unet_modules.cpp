#include "voxseg/models/detail/unet_modules.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <vector>

namespace voxseg::models::detail {

// ATen 1.13's CPU heuristic sends small float32 batches (one tile, few channels: N*C*D*H <= 20480 with
// 3x3x3 kernels) to its im2col "slow" convolution, which is ~13x slower per tile here than oneDNN for
// voxseg's small models at --batch-size 1. Without gradients and autocast, oneDNN is called directly.
//
// A 1x1 convolution (the segmentation head) without gradients or autocast is a matrix product
// written straight into the dense output: oneDNN computes it into a blocked buffer and then copies
// it out, which for a 105-class head on a 128^3 tile holds a second ~0.9 GB while the sliding
// window's accumulator is alive.
at::Tensor run_conv(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, at::IntArrayRef stride,
                    at::IntArrayRef padding, int dims) {
  const bool pointwise = std::all_of(stride.begin(), stride.end(), [](int64_t s) { return s == 1; }) &&
                         std::all_of(padding.begin(), padding.end(), [](int64_t p) { return p == 0; }) &&
                         w.numel() == w.size(0) * w.size(1);
  if (pointwise && x.device().is_cpu() && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat &&
      !at::GradMode::is_enabled() && !at::autocast::is_cpu_enabled()) {
    const int64_t batch = x.size(0), cin = x.size(1), cout = w.size(0), voxels = x[0][0].numel();
    std::vector<int64_t> shape = x.sizes().vec();
    shape[1] = cout;
    at::Tensor out = at::empty(shape, x.options());
    const at::Tensor xc = x.contiguous(), wm = w.reshape({cout, cin});
    for (int64_t i = 0; i < batch; ++i) {
      at::Tensor o = out[i].view({cout, voxels});
      if (b.defined()) at::addmm_out(o, b.unsqueeze(1), wm, xc[i].view({cin, voxels}));
      else at::mm_out(o, wm, xc[i].view({cin, voxels}));
    }
    return out;
  }
  if (x.device().is_cpu() && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat && x.size(0) == 1 &&
      !at::GradMode::is_enabled() && !at::autocast::is_cpu_enabled() && at::hasMKLDNN()) {
    const std::vector<int64_t> dilation(size_t(dims), 1);
    return at::mkldnn_convolution(x.contiguous(), w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt,
                                  padding, stride, dilation, 1);
  }
  return dims == 3 ? at::conv3d(x, w, b, stride, padding) : at::conv2d(x, w, b, stride, padding);
}

}  // namespace voxseg::models::detail
