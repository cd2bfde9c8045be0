// voxseg refine on a whole CT from a label map (one box per component and slice), with the
// embedding cache cold and then warm: wall and CPU time, encoder calls and boxes per second.
// Usage: refine_bench [options] CHECKPOINT [X Y Z [batch [precision [preset]]]]
//   defaults: CT phantom 512x512x300, batch 1, fp32, sam. The label map is the phantom's ground truth.
//   --threads N        torch threads (default: every available core)
//   --warm N           warm runs (default 1)
//   --decode-batch N   prompts per decoder call (EngineOptions::decode_batch; 1 = one slice per call)
//   --cache DIR        keep the embedding cache in DIR (the cold run is skipped when it is filled)
//   --profile-prompts  print the engine's per-phase timings of each run
//   --no-heap-reuse    leave glibc's malloc thresholds alone (refine_case sets them; see core/heap_reuse.h)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "voxseg/core/error.h"
#include "voxseg/core/heap_reuse.h"
#include "voxseg/core/threads.h"
#include "voxseg/phantom/phantom.h"
#include "voxseg/refine/engine.h"
#include "voxseg/refine/intensity.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace voxseg;
  int threads = 0, warm_runs = 1;
  int64_t decode_batch = -1;
  std::string cache_arg;
  bool profile = false, heap_reuse = true;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
    else if (a == "--warm" && i + 1 < argc) warm_runs = std::stoi(argv[++i]);
    else if (a == "--decode-batch" && i + 1 < argc) decode_batch = std::stoll(argv[++i]);
    else if (a == "--cache" && i + 1 < argc) cache_arg = argv[++i];
    else if (a == "--profile-prompts") profile = true;
    else if (a == "--no-heap-reuse") heap_reuse = false;
    else args.push_back(a);
  }
  if (args.empty()) {
    std::fprintf(stderr, "usage: refine_bench [--threads N] [--warm N] [--decode-batch N] [--cache DIR] "
                         "[--profile-prompts] [--no-heap-reuse] CHECKPOINT [X Y Z [batch [precision [preset]]]]\n");
    return 2;
  }
  try {
    set_compute_threads(threads);  // 0: every available core (LibTorch may default to one here)
    phantom::PhantomOptions po;
    po.kind = phantom::PhantomKind::CtAbdomen;
    po.seed = 7;
    po.size = {512, 512, 300};
    if (args.size() >= 4) po.size = {std::stoll(args[1]), std::stoll(args[2]), std::stoll(args[3])};
    refine::EngineOptions options;
    options.batch_size = args.size() >= 5 ? std::stoll(args[4]) : 1;
    if (decode_batch > 0) options.decode_batch = decode_batch;
    const std::string precision = args.size() >= 6 ? args[5] : "fp32";
    options.preset = refine::parse_preset(args.size() >= 7 ? args[6] : "sam");
    const phantom::Phantom ct = phantom::make_phantom(po);
    const at::Tensor image8 = refine::to_uint8(ct.image.data, refine::parse_intensity_mapping("abdomen"));
    const at::Tensor labels = ct.labels.data.to(at::kShort);
    const refine::PromptSet prompts = refine::prompts_from_labels(labels, refine::Axis::Z, 5);
    auto network = refine::load_sam_network(args[0], "cpu", precision);
    const bool keep_cache = !cache_arg.empty();
    const fs::path cache_dir =
        keep_cache ? fs::path(cache_arg) : fs::temp_directory_path() / ("voxseg-refine-bench-" + std::to_string(::getpid()));
    if (!keep_cache) fs::remove_all(cache_dir);
    std::error_code ec;
    const bool filled = keep_cache && fs::is_directory(cache_dir, ec) && !fs::is_empty(cache_dir, ec);
    const refine::EmbeddingCache cache(cache_dir);
    std::printf("refine_bench: CT %lldx%lldx%lld, %zu prompts, preset %s, %s, batch %lld, decode batch %lld, "
                "threads %d, heap reuse %s\n",
                (long long)po.size[0], (long long)po.size[1], (long long)po.size[2], prompts.prompts.size(),
                refine::preset_name(options.preset), precision.c_str(), (long long)options.batch_size,
                (long long)options.decode_batch, threads, heap_reuse ? "on" : "off");
    double cold_s = 0;
    std::vector<std::string> runs;
    if (!filled) runs.push_back("cold");
    for (int i = 0; i < warm_runs; ++i) runs.push_back("warm");
    for (const std::string& run : runs) {
      const auto t0 = Clock::now();
      const double c0 = cpu_seconds();
      std::optional<voxseg::HeapReuse> heap;
      if (heap_reuse) heap.emplace();  // as refine_case does around the engine
      const auto r = refine::run_engine(image8, prompts, *network, options, cache, labels);
      heap.reset();
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      const double cpu = cpu_seconds() - c0;
      const Json& counts = *r.report.find("counts");
      const Json& timings = *r.report.find("timings");
      const int64_t slices = counts.find("slices")->as_int(), boxes = counts.find("prompts")->as_int();
      std::printf("  cache %s: %.2f s total (%.2f s CPU), %lld slices, %lld prompts, %lld encoded, %lld cache hits, "
                  "encode %.2f s, decode %.2f s\n",
                  run.c_str(), s, cpu, (long long)slices, (long long)boxes, (long long)counts.find("encoded")->as_int(),
                  (long long)counts.find("cache_hits")->as_int(), timings.find("encode_s")->as_double(),
                  timings.find("decode_s")->as_double());
      std::printf("  cache %s: %.2f boxes/s (wall), %.2f boxes/s per CPU second\n", run.c_str(),
                  s > 0 ? double(boxes) / s : 0.0, cpu > 0 ? double(boxes) / cpu : 0.0);
      if (profile) std::printf("  timings: %s\n", timings.dump().c_str());
      if (run == "cold") cold_s = s;
      else if (cold_s > 0) std::printf("  warm/cold time ratio: %.3f\n", s / cold_s);
    }
    if (!keep_cache) fs::remove_all(cache_dir);
  } catch (const Error& e) {
    std::fprintf(stderr, "refine_bench: %s\n", e.what());
    return int(e.code());
  }
  return 0;
}
