// voxseg predict's engine on a CT-sized case with a random-weight nnU-Net-sized 3D U-Net, in one run:
// (a) raw network throughput on tiles, (b) end-to-end predict throughput, (c) their ratio,
// (d) peak RSS for 2 and 100 classes (streamed, and 100 classes without streaming), (e) fp32 vs bf16.
// Throughput uses the nnU-Net-sized net on a small CT; memory uses a narrow U-Net (8..32 features) on a long
// CT so that the engine's buffers, not the network's activations, decide the peak.
// Usage: predict_bench [X Y Z [patch [memX memY memZ]]]
//   defaults: throughput CT 96x96x64, patch 64^3; memory CT 128x128x300; spacing 0.8x0.8x2.5 mm -> 1.5 mm
//        predict_bench --preprocess [X Y Z]   (default 512 512 300) int16 CT at 0.8x0.8x1.0 mm -> 1.5 mm:
//          time and peak RSS of preprocess_case against the step-by-step pipeline it replaced, one run
//        predict_bench --tta [X Y Z [patch]]  (default 96 96 64, 32) mirroring TTA with the 8 mirrored
//          copies in one forward pass against one pass per mirror: network time, peak RSS, labels
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "peak_memory.h"
#include "preprocess_reference.h"
#include "voxseg/core/threads.h"
#include "voxseg/infer/model_source.h"
#include "voxseg/infer/predictor.h"
#include "voxseg/models/bundle.h"
#include "voxseg/models/unet.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

using voxseg::bench::mb;
using voxseg::bench::reset_peak_rss;

voxseg::models::UNetConfig unet_config(int64_t classes, bool narrow) {
  voxseg::models::UNetConfig c;
  c.dims = 3;
  c.in_channels = 1;
  c.num_classes = classes;
  c.features_per_stage = narrow ? std::vector<int64_t>{8, 16, 32} : std::vector<int64_t>{32, 64, 128, 256, 320, 320};
  const int n = c.n_stages();
  for (int s = 0; s < n; ++s) {
    c.kernel_sizes.push_back({3, 3, 3});
    c.strides.push_back(s == 0 ? std::vector<int64_t>{1, 1, 1} : std::vector<int64_t>{2, 2, 2});
    c.n_conv_per_stage.push_back(2);
    if (s < n - 1) c.n_conv_per_stage_decoder.push_back(2);
  }
  return c;
}

voxseg::infer::Model make_model(const fs::path& dir, int64_t classes, int64_t patch, voxseg::models::Precision p,
                                bool narrow = false) {
  using namespace voxseg::models;
  if (!fs::exists(dir / "model.json")) {
    torch::manual_seed(1);
    UNet net(unet_config(classes, narrow));
    ModelBundle spec;
    spec.name = "bench-" + std::to_string(classes);
    spec.dims = 3;
    spec.architecture.unet = net.config();
    spec.channels = {ChannelSpec{"CT", NormalizationSpec{voxseg::preprocess::Normalization::CT, false, false, 40.0, 300.0, -1000.0, 1000.0}}};
    for (int64_t k = 0; k < classes; ++k) spec.labels.push_back(LabelSpec{k, "class" + std::to_string(k), {}, {}});
    spec.target_spacing = {1.5, 1.5, 1.5};
    spec.patch_size = {patch, patch, patch};
    spec.crop_to_nonzero = true;
    save_bundle(dir, spec, net);
  }
  const ModelBundle bundle = load_bundle(dir, "cpu", p);
  return voxseg::infer::model_from_bundle(bundle, std::shared_ptr<Network>(make_network(bundle)));
}

// Raw network: forward passes on random tiles of the patch size; seconds.
double raw_seconds(voxseg::infer::Model& m, int64_t patch, int tiles) {
  const at::Tensor x = torch::randn({1, 1, patch, patch, patch});
  const auto t0 = Clock::now();
  for (int i = 0; i < tiles; ++i) m.networks[0]->forward(x);
  return since(t0);
}

struct Run {
  double seconds = 0, peak_mb = 0, voxels_per_s = 0, network_s = 0;
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
  r.network_s = p.report.find("timings")->find("network_s")->as_double();
  r.voxels_per_s = double(r.tiles) * double(patch * patch * patch) / r.seconds;
  return r;
}

voxseg::Volume make_ct(int64_t nx, int64_t ny, int64_t nz) {
  // A body-shaped CT: air outside an ellipse is 0 (cropped away), tissue inside.
  torch::manual_seed(2);
  at::Tensor z = torch::linspace(-1, 1, nz).view({nz, 1, 1}), y = torch::linspace(-1, 1, ny).view({1, ny, 1}),
             x = torch::linspace(-1, 1, nx).view({1, 1, nx});
  at::Tensor body = (y * y / 0.7 + x * x / 0.9).lt(1.0).expand({nz, ny, nx});
  at::Tensor hu = torch::where(body, 40 + 200 * torch::sin(6 * x + 4 * y + 3 * z) + 30 * torch::randn({nz, ny, nx}),
                               torch::zeros({nz, ny, nx}));
  voxseg::Volume image{hu.contiguous(), {}};
  image.geometry.size = {nx, ny, nz};
  image.geometry.spacing = {0.8, 0.8, 2.5};
  return image;
}

// Resident memory now (VmRSS), bytes.
double rss_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return double(std::stoll(line.substr(6))) * 1024;
  return 0;
}

// An int16 CT as scanners write it: air -1000 inside the field of view, -3024 outside it (so the
// non-zero crop keeps the whole grid), a body ellipse of soft tissue with noise.
voxseg::Volume make_int16_ct(int64_t nx, int64_t ny, int64_t nz) {
  torch::manual_seed(3);
  at::Tensor y = torch::linspace(-1, 1, ny).view({1, ny, 1}), x = torch::linspace(-1, 1, nx).view({1, 1, nx});
  at::Tensor fov = (y * y + x * x).lt(1.0).expand({nz, ny, nx});
  at::Tensor body = (y * y / 0.5 + x * x / 0.8).lt(1.0).expand({nz, ny, nx});
  at::Tensor hu = torch::full({nz, ny, nx}, -3024.0);
  hu.masked_fill_(fov, -1000.0);
  hu = torch::where(body, 40 + 30 * torch::randn({nz, ny, nx}), hu);
  voxseg::Volume image{hu.round().to(torch::kShort).contiguous(), {}};
  image.geometry.size = {nx, ny, nz};
  image.geometry.spacing = {0.8, 0.8, 1.0};
  return image;
}

int preprocess_ab(int64_t nx, int64_t ny, int64_t nz) {
  using voxseg::preprocess::Plan;
  const voxseg::Volume ct = make_int16_ct(nx, ny, nz);
  Plan plan;
  plan.channels = {voxseg::preprocess::NormalizeOptions{voxseg::preprocess::Normalization::CT, false, false, 40.0, 300.0,
                                                        -1000.0, 1000.0}};
  plan.target_spacing = {1.5, 1.5, 1.5};
  const double voxels = double(ct.data.numel());
  std::printf("preprocess: int16 CT %lldx%lldx%lld (%.0f MB), 0.8x0.8x1.0 mm -> 1.5 mm, CT normalization, cubic, %d threads\n",
              (long long)nx, (long long)ny, (long long)nz, mb(voxels * 2), torch::get_num_threads());
  at::Tensor results[2];
  for (int round = 0; round < 2; ++round)  // each path twice, interleaved: the load moves during the run
    for (int fused = 0; fused < 2; ++fused) {
      reset_peak_rss();
      const double before = rss_bytes();
      const auto t0 = Clock::now();
      auto pre = fused ? voxseg::preprocess::preprocess_case(ct, plan) : voxseg::bench::step_by_step_preprocess(ct, plan);
      const double seconds = since(t0);
      const double peak = double(voxseg::infer::peak_rss_bytes()) - before;
      std::printf("  %-13s round %d: %6.2f s, peak above the input %6.0f MB = %5.2f bytes per input voxel (network grid %lldx%lldx%lld)\n",
                  fused ? "fused" : "step-by-step", round + 1, seconds, mb(peak), peak / voxels,
                  (long long)pre.data.size(1), (long long)pre.data.size(2), (long long)pre.data.size(3));
      results[fused] = pre.data;
    }
  std::printf("  fused == step-by-step bit for bit: %s\n", torch::equal(results[0], results[1]) ? "yes" : "NO");
  return 0;
}

int tta_ab(int64_t nx, int64_t ny, int64_t nz, int64_t patch, const fs::path& tmp) {
  const voxseg::Volume ct = make_ct(nx, ny, nz);
  auto m = make_model(tmp / "tta", 3, patch, voxseg::models::Precision::FP32, true);
  std::printf("tta: CT %lldx%lldx%lld, patch %lld^3, U-Net 3 stages 8..32 features, 8 mirrors, %d threads\n",
              (long long)nx, (long long)ny, (long long)nz, (long long)patch, torch::get_num_threads());
  at::Tensor labels[2];
  double network[2] = {0, 0};
  for (int round = 0; round < 2; ++round)
    for (int batched = 0; batched < 2; ++batched) {
      voxseg::infer::PredictOptions o;
      o.tta_batch = batched ? 0 : 1;
      reset_peak_rss();
      const auto t0 = Clock::now();
      const auto p = voxseg::infer::predict_volume(ct, m, o);
      const double wall = since(t0);
      const double net_s = p.report.find("timings")->find("network_s")->as_double();
      network[batched] += net_s;
      std::printf("  %-22s round %d: network %6.2f s (%lld passes), predict %6.2f s, peak RSS %5.0f MB\n",
                  batched ? "mirrors in one batch" : "one pass per mirror", round + 1, net_s,
                  (long long)p.report.find("forward_passes")->as_int(), wall,
                  mb(double(voxseg::infer::peak_rss_bytes())));
      labels[batched] = p.labels.data;
    }
  std::printf("  network time one-per-mirror / batched: %.2f; labels equal: %s\n", network[0] / network[1],
              torch::equal(labels[0], labels[1]) ? "yes" : "NO");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto arg = [&](int i, int64_t d) { return argc > i ? int64_t(std::atoll(argv[i])) : d; };
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "--preprocess" || mode == "--tta") {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    voxseg::set_compute_threads(0);
    if (mode == "--preprocess") return preprocess_ab(arg(2, 512), arg(3, 512), arg(4, 300));
    const fs::path tmp = fs::temp_directory_path() / ("voxseg-predict-bench-" + std::to_string(::getpid()));
    const int rc = tta_ab(arg(2, 96), arg(3, 96), arg(4, 64), arg(5, 32), tmp);
    fs::remove_all(tmp);
    return rc;
  }
  const int64_t nx = arg(1, 96), ny = arg(2, 96), nz = arg(3, 64), patch = arg(4, 64);
  const int64_t mx = arg(5, 128), my = arg(6, 128), mz = arg(7, 300);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  voxseg::set_compute_threads(0);
  const fs::path tmp = fs::temp_directory_path() / ("voxseg-predict-bench-" + std::to_string(::getpid()));
  std::printf("predict_bench: %d threads, patch %lld^3, no TTA, spacing 0.8x0.8x2.5 mm -> 1.5 mm\n",
              torch::get_num_threads(), (long long)patch);

  // (d) first, in a fresh process: memory with a narrow U-Net on a long CT.
  const voxseg::Volume long_ct = make_ct(mx, my, mz);
  const double input_mb = mb(double(long_ct.data.numel()) * 4);
  std::printf("memory: CT %lldx%lldx%lld (float32 %.1f MB), U-Net 3 stages 8..32 features\n", (long long)mx,
              (long long)my, (long long)mz, input_mb);
  {
    reset_peak_rss();
    std::printf("    baseline RSS before the runs (libraries, thread pools): %.0f MB\n",
                mb(double(voxseg::infer::peak_rss_bytes())));
  }
  for (int64_t classes : {2, 100}) {
    auto m = make_model(tmp / ("n" + std::to_string(classes)), classes, patch, voxseg::models::Precision::FP32, true);
    for (bool stream : {true, false}) {
      const Run r = end_to_end(m, long_ct, stream, patch);
      std::printf("(d) peak RSS %3lld classes, %-10s %6.0f MB = %5.1f x input (accumulator slices %lld, %lld tiles, %.1f s)\n",
                  (long long)classes, stream ? "streamed:" : "unstreamed:", r.peak_mb, r.peak_mb / input_mb,
                  (long long)r.slices_max, (long long)r.tiles, r.seconds);
    }
    if (classes == 100) {  // twice the depth, streamed: the peak should grow by the volume only
      const voxseg::Volume deeper = make_ct(mx, my, 2 * mz);
      const Run r = end_to_end(m, deeper, true, patch);
      std::printf("(d) peak RSS 100 classes, streamed, depth x2: %6.0f MB = %5.1f x its input (slices %lld, %lld tiles, %.1f s)\n",
                  r.peak_mb, r.peak_mb / (2 * input_mb), (long long)r.slices_max, (long long)r.tiles, r.seconds);
    }
  }
  // (a)-(c), (e): nnU-Net's default 3d_fullres U-Net, raw forward time measured before and after the run.
  const voxseg::Volume ct = make_ct(nx, ny, nz);
  std::printf("throughput: CT %lldx%lldx%lld, U-Net 6 stages 32..320 features (random weights)\n", (long long)nx,
              (long long)ny, (long long)nz);
  const double tile_voxels = double(patch * patch * patch);
  auto m2 = make_model(tmp / "c2", 2, patch, voxseg::models::Precision::FP32);
  raw_seconds(m2, patch, 1);  // warm-up (oneDNN primitives)
  double raw_s = raw_seconds(m2, patch, 2);
  const Run e2 = end_to_end(m2, ct, true, patch);
  raw_s = (raw_s + raw_seconds(m2, patch, 2)) / 4.0;
  const double raw = tile_voxels / raw_s;
  // The in-run figure (time inside Network::forward during the same predict) shares the run's load;
  // the separate timing is taken before and after and moves with the machine's load.
  const double raw_in_run = double(e2.tiles) * tile_voxels / e2.network_s;
  std::printf("(a) raw network fp32:        %.3g voxels/s in-run (%.2f s per tile); separately timed %.3g voxels/s\n",
              raw_in_run, e2.network_s / double(e2.tiles), raw);
  std::printf("(b) end-to-end predict fp32: %.3g voxels/s (%lld tiles, %.1f s)\n", e2.voxels_per_s,
              (long long)e2.tiles, e2.seconds);
  std::printf("(c) end-to-end / raw:        %.3f in-run (target >= 0.85); vs separately timed raw %.3f\n",
              e2.voxels_per_s / raw_in_run, e2.voxels_per_s / raw);
  auto mb16 = make_model(tmp / "c2", 2, patch, voxseg::models::Precision::BF16);
  raw_seconds(mb16, patch, 1);
  double raw16_s = raw_seconds(mb16, patch, 2);
  const Run e16 = end_to_end(mb16, ct, true, patch);
  raw16_s = (raw16_s + raw_seconds(mb16, patch, 2)) / 4.0;
  const double raw16 = tile_voxels / raw16_s;
  const double raw16_in_run = double(e16.tiles) * tile_voxels / e16.network_s;
  std::printf("(e) raw network bf16:        %.3g voxels/s in-run (%.2f x fp32 in-run); separately timed %.3g (%.2f x)\n",
              raw16_in_run, raw16_in_run / raw_in_run, raw16, raw16 / raw);
  std::printf("    end-to-end predict bf16: %.3g voxels/s (%.2f x fp32; end-to-end / raw bf16 in-run %.3f)\n",
              e16.voxels_per_s, e16.voxels_per_s / e2.voxels_per_s, e16.voxels_per_s / raw16_in_run);

  fs::remove_all(tmp);
  return 0;
}
