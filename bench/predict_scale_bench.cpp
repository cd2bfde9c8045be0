// Peak memory of voxseg predict's engine on a full-size CT with many classes: the TotalSegmentator
// scenario of nnU-Net (512x512x900 at 0.8x0.8x1.0 mm, resampled to 1.5 mm, 105 classes, patch 128^3),
// measured in one run against what float32 logits of every class on the input grid would need (what
// nnU-Net's export resamples into before its argmax).
// A narrow random U-Net stands in for the real one: its activations are small, so the engine's
// buffers (input, preprocessing copies, the z-slab accumulator, resampling back, labels) set the peak.
// Usage: predict_scale_bench [X Y Z [classes [patch [accumulator [resample]]]]]   (defaults 512 512 900 105
// 128 auto labels; accumulator auto|fp32|fp16, the logits slab type of voxseg predict --accumulator;
// resample labels|all: labels interpolated only at boundaries (predict's default) or every class
// resampled back, PredictOptions::resample_all_classes)
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "peak_memory.h"
#include "voxseg/core/threads.h"
#include "voxseg/infer/predictor.h"
#include "voxseg/models/bundle.h"
#include "voxseg/models/unet.h"

namespace {

using Clock = std::chrono::steady_clock;
using voxseg::bench::mb;
using voxseg::bench::reset_peak_rss;

// int16 HU like a CT read from disk: air (-1000) around an elliptic body with smooth structure.
voxseg::Volume make_ct(int64_t nx, int64_t ny, int64_t nz) {
  at::Tensor hu = torch::empty({nz, ny, nx}, torch::kShort);
  const at::Tensor y = torch::linspace(-1, 1, ny).view({ny, 1}), x = torch::linspace(-1, 1, nx).view({1, nx});
  const at::Tensor body = (y * y / 0.7 + x * x / 0.9).lt(1.0);
  for (int64_t z = 0; z < nz; ++z) {
    const double zz = -1.0 + 2.0 * double(z) / double(std::max<int64_t>(1, nz - 1));
    at::Tensor slice = 40 + 200 * torch::sin(6 * x + 4 * y + 3 * zz);
    hu.select(0, z).copy_(torch::where(body, slice, torch::full_like(slice, -1000)).to(torch::kShort));
  }
  voxseg::Volume image{hu, {}};
  image.geometry.size = {nx, ny, nz};
  image.geometry.spacing = {0.8, 0.8, 1.0};
  return image;
}

}  // namespace

int main(int argc, char** argv) {
  auto arg = [&](int i, int64_t d) { return argc > i ? int64_t(std::atoll(argv[i])) : d; };
  const int64_t nx = arg(1, 512), ny = arg(2, 512), nz = arg(3, 900), classes = arg(4, 105), patch = arg(5, 128);
  const auto accumulator = voxseg::infer::parse_accumulator(argc > 6 ? argv[6] : "auto");
  const bool resample_all = argc > 7 && std::string(argv[7]) == "all";
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  voxseg::set_compute_threads(0);

  voxseg::models::UNetConfig c;
  c.dims = 3;
  c.in_channels = 1;
  c.num_classes = classes;
  c.features_per_stage = {4, 8};
  c.kernel_sizes = {{3, 3, 3}, {3, 3, 3}};
  c.strides = {{1, 1, 1}, {2, 2, 2}};
  c.n_conv_per_stage = {1, 1};
  c.n_conv_per_stage_decoder = {1};
  torch::manual_seed(1);
  voxseg::models::UNet net(c);
  voxseg::infer::Model model;
  model.networks = {voxseg::models::make_unet_network(c, net.state_dict(), "random", "scale-bench",
                                                      c10::Device(c10::kCPU), voxseg::models::Precision::FP32)};
  voxseg::preprocess::NormalizeOptions ct;
  ct.scheme = voxseg::preprocess::Normalization::CT;
  ct.mean = 60, ct.std = 150, ct.lower = -1000, ct.upper = 1500;
  model.plan.channels = {ct};
  model.plan.target_spacing = {1.5, 1.5, 1.5};
  model.patch_size = {patch, patch, patch};

  const voxseg::Volume image = make_ct(nx, ny, nz);
  const double voxels = double(nx * ny * nz);
  std::printf("predict_scale_bench: CT %lldx%lldx%lld int16 (%.0f MB) at 0.8x0.8x1.0 mm -> 1.5 mm, %lld classes, "
              "patch %lld^3, no TTA, %d threads\n",
              (long long)nx, (long long)ny, (long long)nz, mb(voxels * 2), (long long)classes, (long long)patch,
              torch::get_num_threads());
  reset_peak_rss();
  const double baseline = mb(double(voxseg::infer::peak_rss_bytes()));
  const auto t0 = Clock::now();
  voxseg::infer::PredictOptions o;
  o.tta = false;
  o.accumulator = accumulator;
  o.resample_all_classes = resample_all;
  const auto p = voxseg::infer::predict_volume(image, model, o);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const double peak = mb(double(voxseg::infer::peak_rss_bytes()));

  const auto& grid = p.report.find("network_shape")->as_array();
  const double grid_voxels = double(grid[0].as_int() * grid[1].as_int() * grid[2].as_int());
  const double naive_input_grid = mb(double(classes) * voxels * 4);
  const double naive_network_grid_fp16 = mb(double(classes) * grid_voxels * 2);
  const double slab = mb(double(classes) * double(patch) * double(grid[1].as_int() * grid[2].as_int()) * 4);
  std::printf("network grid %lldx%lldx%lld, %lld tiles, %.0f s (network %.0f s, resample back %.0f s, %s)\n",
              (long long)grid[0].as_int(), (long long)grid[1].as_int(), (long long)grid[2].as_int(),
              (long long)p.report.find("tiles")->as_int(), seconds,
              p.report.find("timings")->find("network_s")->as_double(),
              p.report.find("timings")->find("resample_back_s")->as_double(),
              resample_all ? "every class" : "labels at boundaries");
  if (const auto* f = p.report.find("resample_back")->find("interpolated_fraction"))
    std::printf("voxels interpolated class by class: %.1f%%\n", 100.0 * f->as_double());
  std::printf("| measure | MB |\n|---|---|\n");
  std::printf("| process baseline before the case (LibTorch, input volume) | %.0f |\n", baseline);
  std::printf("| peak RSS during predict_volume (VmHWM) | %.0f |\n", peak);
  std::printf("| float32 logits of all classes on the input grid (resampled back, before argmax) | %.0f |\n",
              naive_input_grid);
  std::printf("| float16 logits of all classes on the network grid (nnU-Net's accumulator) | %.0f |\n",
              naive_network_grid_fp16);
  std::printf("| voxseg's float32 z-slab accumulator (classes x patch depth x grid slice) | %.0f |\n", slab);
  std::printf("| this run's accumulator (%s), logits and weights at their largest | %.0f |\n",
              p.report.find("accumulator")->as_string().c_str(), p.report.find("accumulator_mb")->as_double());
  std::printf("peak / input-grid logits = %.3f; accumulator slices alive at most %lld of %lld\n",
              peak / naive_input_grid, (long long)p.report.find("accumulator_slices_max")->as_int(),
              (long long)grid[0].as_int());
  return 0;
}
