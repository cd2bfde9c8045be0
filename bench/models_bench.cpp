// Native U-Net forward on the CPU: fp32 versus bf16 (autocast, transposed convs kept in fp32).
// usage: models_bench [patch_z patch_y patch_x] [repeats] [threads]
// Prints one JSON line: times per forward (median of repeats, after one warm-up) and the bf16 error.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "voxseg/core/threads.h"
#include "voxseg/models/unet.h"
#include "voxseg/models/unet_config.h"

namespace {

double median_seconds(voxseg::models::UNet& net, const at::Tensor& x, voxseg::models::Precision precision,
                      int repeats, at::Tensor* out) {
  std::vector<double> times;
  for (int r = 0; r <= repeats; ++r) {  // r == 0 is the warm-up
    const auto start = std::chrono::steady_clock::now();
    {
      voxseg::models::PrecisionScope scope(precision, c10::Device(c10::kCPU));
      *out = net.forward(x).to(at::kFloat);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r > 0) times.push_back(s);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> patch{32, 96, 96};
  if (argc >= 4) patch = {std::stoll(argv[1]), std::stoll(argv[2]), std::stoll(argv[3])};
  const int repeats = argc >= 5 ? std::stoi(argv[4]) : 3;
  const int threads = argc >= 6 ? std::stoi(argv[5]) : 0;
  voxseg::set_compute_threads(threads);

  // nnU-Net-like 3D full-resolution net: 5 stages, 32..320 features, first downsampling in-plane only.
  auto config = voxseg::models::make_default_unet_config(3, 1, 3, 5);
  config.kernel_sizes[0] = {1, 3, 3};
  config.strides[1] = {1, 2, 2};
  voxseg::models::UNet net(config);
  net.train(false);
  torch::manual_seed(0);
  const at::Tensor x = torch::randn({1, 1, patch[0], patch[1], patch[2]});
  c10::InferenceMode guard;
  at::Tensor fp32, bf16;
  const double t32 = median_seconds(net, x, voxseg::models::Precision::FP32, repeats, &fp32);
  const double t16 = median_seconds(net, x, voxseg::models::Precision::BF16, repeats, &bf16);
  const double range = fp32.abs().max().item<double>();
  const double err = (fp32 - bf16).abs().max().item<double>();
  std::printf(
      "{\"bench\": \"models_unet_forward\", \"patch\": [%lld, %lld, %lld], \"threads\": %d, \"repeats\": %d, "
      "\"fp32_s\": %.3f, \"bf16_s\": %.3f, \"bf16_speedup\": %.2f, \"bf16_max_abs_err\": %.4g, "
      "\"fp32_max_abs\": %.4g}\n",
      (long long)patch[0], (long long)patch[1], (long long)patch[2], at::get_num_threads(), repeats, t32, t16,
      t32 / t16, err, range);
  return 0;
}
