// SAM's prompt encoder + mask decoder as refine calls them (SamModel::decode: N box prompts spread
// over B slice embeddings, multimask off), fp32 and bf16 in one process: seconds per box (wall and
// CPU), and how far bf16's logits and masks are from fp32's.
// usage: sam_decoder_bench CHECKPOINT [boxes [images [repeats [threads [trace.json]]]]]
//   defaults 16 boxes on 7 embeddings (a refine --decode-batch 16 call), 5 repeats (median, after a
//   warm-up), every core. With trace.json the fp32 calls run under LibTorch's legacy profiler, which
//   writes a chrome trace (per-op times; slower).
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "voxseg/core/error.h"
#include "voxseg/core/threads.h"
#include "voxseg/models/sam.h"

namespace {

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

struct Timing {
  double wall = 0, cpu = 0;
};

Timing median(int repeats, const std::function<void()>& f) {
  std::vector<double> walls, cpus;
  for (int r = 0; r <= repeats; ++r) {  // r == 0 is the warm-up
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    f();
    if (r == 0) continue;
    walls.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpus.push_back(cpu_seconds() - c0);
  }
  std::sort(walls.begin(), walls.end());
  std::sort(cpus.begin(), cpus.end());
  return {walls[walls.size() / 2], cpus[cpus.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace voxseg;
  if (argc < 2) {
    std::fprintf(stderr, "usage: sam_decoder_bench CHECKPOINT [boxes [images [repeats [threads [trace.json]]]]]\n");
    return 2;
  }
  const int64_t boxes = argc >= 3 ? std::stoll(argv[2]) : 16;
  const int64_t images = argc >= 4 ? std::stoll(argv[3]) : 7;
  const int repeats = argc >= 5 ? std::stoi(argv[4]) : 5;
  const int threads = argc >= 6 ? std::stoi(argv[5]) : 0;
  const std::string trace = argc >= 7 ? argv[6] : "";
  try {
    set_compute_threads(threads);
    c10::InferenceMode guard;
    torch::manual_seed(0);
    const auto fp32 = models::SamModel::load(argv[1], c10::Device(c10::kCPU), models::Precision::FP32);
    const auto bf16 = models::SamModel::load(argv[1], c10::Device(c10::kCPU), models::Precision::BF16);
    const auto& c = fp32.config();
    const int64_t s = c.image_size, grid = s / c.patch_size;
    const at::Tensor emb = torch::randn({images, c.out_chans, grid, grid}) * 0.5;
    models::SamModel::Prompts p;
    const at::Tensor xy0 = torch::rand({boxes, 2}) * double(s / 2);
    p.boxes = torch::cat({xy0, xy0 + double(s / 8) + torch::rand({boxes, 2}) * double(s / 4)}, 1);
    p.image_index = torch::arange(boxes, torch::kLong).remainder(images);
    models::SamModel::Decoded d32, d16;
    const Timing t32 = median(repeats, [&] { d32 = fp32.decode(emb, p, false); });
    const Timing t16 = median(repeats, [&] { d16 = bf16.decode(emb, p, false); });
    const at::Tensor a = d32.low_res_logits, b = d16.low_res_logits;
    const double rel = ((a - b).norm() / a.norm()).item<double>();
    const double agree = ((a > 0) == (b > 0)).to(at::kFloat).mean().item<double>();
    if (!trace.empty()) {
      torch::autograd::profiler::RecordProfile profile(trace);
      for (int r = 0; r < repeats; ++r) fp32.decode(emb, p, false);
    }
    std::printf(
        "{\"bench\": \"sam_decoder\", \"boxes\": %lld, \"images\": %lld, \"threads\": %d, \"repeats\": %d, "
        "\"fp32_s_per_box\": %.5f, \"fp32_cpu_s_per_box\": %.5f, \"bf16_s_per_box\": %.5f, "
        "\"bf16_cpu_s_per_box\": %.5f, \"bf16_rel_err\": %.4g, \"bf16_mask_agreement\": %.5f}\n",
        (long long)boxes, (long long)images, threads, repeats, t32.wall / boxes, t32.cpu / boxes, t16.wall / boxes,
        t16.cpu / boxes, rel, agree);
  } catch (const Error& e) {
    std::fprintf(stderr, "sam_decoder_bench: %s\n", e.what());
    return int(e.code());
  }
  return 0;
}
