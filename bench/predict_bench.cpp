// voxseg predict's engine on a CT-sized case with a random-weight nnU-Net-sized 3D U-Net, in one run:
// (a) raw network throughput on tiles, (b) end-to-end predict throughput, (c) their ratio,
// (d) peak RSS for 2 and 100 classes (streamed, and 100 classes without streaming), (e) fp32 vs bf16.
// Usage: predict_bench [X Y Z [patch]]  (defaults 192 192 128, patch 64; spacing 0.8x0.8x2.5 mm -> 1.5 mm)
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "voxseg/core/threads.h"
#include "voxseg/infer/model_source.h"
#include "voxseg/infer/predictor.h"
#include "voxseg/models/bundle.h"
#include "voxseg/models/unet.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Resets VmHWM (Linux >= 4.0) so each measurement has its own peak.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
double mb(double bytes) { return bytes / (1024.0 * 1024.0); }

voxseg::models::UNetConfig nnunet_default(int64_t classes) {
  voxseg::models::UNetConfig c;
  c.dims = 3;
  c.in_channels = 1;
  c.num_classes = classes;
  c.features_per_stage = {32, 64, 128, 256, 320, 320};
  for (int s = 0; s < 6; ++s) {
    c.kernel_sizes.push_back({3, 3, 3});
    c.strides.push_back(s == 0 ? std::vector<int64_t>{1, 1, 1} : std::vector<int64_t>{2, 2, 2});
    c.n_conv_per_stage.push_back(2);
    if (s < 5) c.n_conv_per_stage_decoder.push_back(2);
  }
  return c;
}

voxseg::infer::Model make_model(const fs::path& dir, int64_t classes, int64_t patch, voxseg::models::Precision p) {
  using namespace voxseg::models;
  if (!fs::exists(dir / "model.json")) {
    torch::manual_seed(1);
    UNet net(nnunet_default(classes));
    ModelBundle spec;
    spec.name = "bench-" + std::to_string(classes);
    spec.dims = 3;
    spec.architecture.unet = net.config();
    spec.channels = {ChannelSpec{"CT", NormalizationSpec{"ct", 40.0, 300.0, -1000.0, 1000.0, false}}};
    for (int64_t k = 0; k < classes; ++k) spec.labels.push_back(LabelSpec{k, "class" + std::to_string(k), {}, {}});
    spec.target_spacing = {1.5, 1.5, 1.5};
    spec.patch_size = {patch, patch, patch};
    spec.crop_to_nonzero = true;
    save_bundle(dir, spec, net);
  }
  const ModelBundle bundle = load_bundle(dir, "cpu", p);
  return voxseg::infer::model_from_bundle(bundle, std::shared_ptr<Network>(make_network(bundle)));
}

// Raw network: forward passes on random tiles of the patch size; voxels per second.
double raw_throughput(voxseg::infer::Model& m, int64_t patch, int tiles) {
  const at::Tensor x = torch::randn({1, 1, patch, patch, patch});
  m.networks[0]->forward(x);  // warm-up (oneDNN primitive creation)
  const auto t0 = Clock::now();
  for (int i = 0; i < tiles; ++i) m.networks[0]->forward(x);
  return double(tiles) * double(patch * patch * patch) / since(t0);
}

struct Run {
  double seconds = 0, peak_mb = 0, voxels_per_s = 0;
  int64_t tiles = 0, slices_max = 0;
};

Run end_to_end(voxseg::infer::Model& m, const voxseg::Volume& image, bool stream, int64_t patch) {
  voxseg::infer::PredictOptions o;
  o.tta = false;  // raw and end-to-end compare the same forward passes
  o.stream = stream;
  reset_peak_rss();
  const auto t0 = Clock::now();
  const auto p = voxseg::infer::predict_volume(image, m, o);
  Run r;
  r.seconds = since(t0);
  r.peak_mb = mb(double(voxseg::infer::peak_rss_bytes()));
  r.tiles = p.report.find("tiles")->as_int();
  r.slices_max = p.report.find("accumulator_slices_max")->as_int();
  r.voxels_per_s = double(r.tiles) * double(patch * patch * patch) / r.seconds;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t nx = argc > 3 ? std::atoll(argv[1]) : 192, ny = argc > 3 ? std::atoll(argv[2]) : 192,
                nz = argc > 3 ? std::atoll(argv[3]) : 128, patch = argc > 4 ? std::atoll(argv[4]) : 64;
  voxseg::set_compute_threads(0);
  std::printf("predict_bench: CT %lldx%lldx%lld at 0.8x0.8x2.5 mm -> 1.5 mm, nnU-Net default U-Net "
              "(6 stages, 32..320 features), patch %lld^3, %d threads, no TTA\n",
              (long long)nx, (long long)ny, (long long)nz, (long long)patch, torch::get_num_threads());
  // A body-shaped CT: air outside an ellipse (0 after cropping to non-zero means padding), tissue inside.
  torch::manual_seed(2);
  at::Tensor z = torch::linspace(-1, 1, nz).view({nz, 1, 1}), y = torch::linspace(-1, 1, ny).view({1, ny, 1}),
             x = torch::linspace(-1, 1, nx).view({1, 1, nx});
  at::Tensor body = (y * y / 0.7 + x * x / 0.9).lt(1.0).expand({nz, ny, nx});
  at::Tensor hu = torch::where(body, 40 + 200 * torch::sin(6 * x + 4 * y + 3 * z) + 30 * torch::randn({nz, ny, nx}),
                               torch::zeros({nz, ny, nx}));
  voxseg::Volume image{hu.contiguous(), {}};
  image.geometry.size = {nx, ny, nz};
  image.geometry.spacing = {0.8, 0.8, 2.5};
  const double input_mb = mb(double(hu.numel()) * 4);
  std::printf("input float32: %.1f MB\n", input_mb);

  const fs::path tmp = fs::temp_directory_path() / ("voxseg-predict-bench-" + std::to_string(::getpid()));
  auto m2 = make_model(tmp / "c2", 2, patch, voxseg::models::Precision::FP32);
  const Run e2 = end_to_end(m2, image, true, patch);
  const double raw = raw_throughput(m2, patch, int(std::min<int64_t>(e2.tiles, 6)));
  std::printf("(a) raw network fp32:        %.3g voxels/s\n", raw);
  std::printf("(b) end-to-end predict fp32: %.3g voxels/s (%lld tiles, %.1f s)\n", e2.voxels_per_s,
              (long long)e2.tiles, e2.seconds);
  std::printf("(c) end-to-end / raw:        %.3f (target >= 0.85)\n", e2.voxels_per_s / raw);
  std::printf("(d) peak RSS, 2 classes, streamed:     %7.0f MB = %5.1f x input (accumulator slices held: %lld)\n",
              e2.peak_mb, e2.peak_mb / input_mb, (long long)e2.slices_max);
  {
    auto m100 = make_model(tmp / "c100", 100, patch, voxseg::models::Precision::FP32);
    const Run s = end_to_end(m100, image, true, patch);
    const Run w = end_to_end(m100, image, false, patch);
    std::printf("    peak RSS, 100 classes, streamed:   %7.0f MB = %5.1f x input (slices held: %lld)\n", s.peak_mb,
                s.peak_mb / input_mb, (long long)s.slices_max);
    std::printf("    peak RSS, 100 classes, unstreamed: %7.0f MB = %5.1f x input (slices held: %lld)\n", w.peak_mb,
                w.peak_mb / input_mb, (long long)w.slices_max);
  }
  auto mb16 = make_model(tmp / "c2", 2, patch, voxseg::models::Precision::BF16);
  const double raw16 = raw_throughput(mb16, patch, int(std::min<int64_t>(e2.tiles, 6)));
  const Run e16 = end_to_end(mb16, image, true, patch);
  std::printf("(e) raw network bf16:        %.3g voxels/s (%.2f x fp32)\n", raw16, raw16 / raw);
  std::printf("    end-to-end predict bf16: %.3g voxels/s (%.2f x fp32; ratio to raw bf16 %.3f)\n", e16.voxels_per_s,
              e16.voxels_per_s / e2.voxels_per_s, e16.voxels_per_s / raw16);
  fs::remove_all(tmp);
  return 0;
}
