#include <ATen/autocast_mode.h>

#include "voxseg/models/unet.h"

namespace voxseg::models {

PrecisionScope::PrecisionScope(Precision precision, const c10::Device& device) {
  check_precision(precision, device);
  if (precision == Precision::FP32) return;
  const c10::ScalarType dtype = precision == Precision::BF16 ? at::kBFloat16 : at::kHalf;
  if (device.is_cuda()) {
    cuda_ = true;
    previous_cuda_ = at::autocast::is_enabled();
    previous_cuda_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
  } else {
    cpu_ = true;
    previous_cpu_ = at::autocast::is_cpu_enabled();
    previous_cpu_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

PrecisionScope::~PrecisionScope() {
  if (!cpu_ && !cuda_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(previous_cuda_);
    at::autocast::set_autocast_gpu_dtype(previous_cuda_dtype_);
  }
  if (cpu_) {
    at::autocast::set_cpu_enabled(previous_cpu_);
    at::autocast::set_autocast_cpu_dtype(previous_cpu_dtype_);
  }
}

}  // namespace voxseg::models
