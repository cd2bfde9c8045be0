// voxseg refine on a whole CT from a label map (one box per component and slice), with the
// embedding cache cold and then warm: wall time, encoder calls and time per prompted slice.
// Usage: refine_bench CHECKPOINT [X Y Z [batch [precision [preset]]]]
//   defaults: CT phantom 512x512x300, batch 1, fp32, sam. The label map is the phantom's ground truth.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "voxseg/core/error.h"
#include "voxseg/core/threads.h"
#include "voxseg/phantom/phantom.h"
#include "voxseg/refine/engine.h"
#include "voxseg/refine/intensity.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  using namespace voxseg;
  if (argc < 2) {
    std::fprintf(stderr, "usage: refine_bench CHECKPOINT [X Y Z [batch [precision [preset]]]]\n");
    return 2;
  }
  try {
    set_compute_threads(0);  // every available core (LibTorch may default to one here)
    phantom::PhantomOptions po;
    po.kind = phantom::PhantomKind::CtAbdomen;
    po.seed = 7;
    po.size = {512, 512, 300};
    if (argc >= 5) po.size = {std::stoll(argv[2]), std::stoll(argv[3]), std::stoll(argv[4])};
    refine::EngineOptions options;
    options.batch_size = argc >= 6 ? std::stoll(argv[5]) : 1;
    const std::string precision = argc >= 7 ? argv[6] : "fp32";
    options.preset = refine::parse_preset(argc >= 8 ? argv[7] : "sam");
    const phantom::Phantom ct = phantom::make_phantom(po);
    const at::Tensor image8 = refine::to_uint8(ct.image.data, refine::parse_intensity_mapping("abdomen"));
    const at::Tensor labels = ct.labels.data.to(at::kShort);
    const refine::PromptSet prompts = refine::prompts_from_labels(labels, refine::Axis::Z, 5);
    auto network = refine::load_sam_network(argv[1], "cpu", precision);
    const fs::path cache_dir = fs::temp_directory_path() / ("voxseg-refine-bench-" + std::to_string(::getpid()));
    fs::remove_all(cache_dir);
    const refine::EmbeddingCache cache(cache_dir);
    std::printf("refine_bench: CT %lldx%lldx%lld, %zu prompts, preset %s, %s, batch %lld\n", (long long)po.size[0],
                (long long)po.size[1], (long long)po.size[2], prompts.prompts.size(), refine::preset_name(options.preset),
                precision.c_str(), (long long)options.batch_size);
    double cold_s = 0;
    for (const char* run : {"cold", "warm"}) {
      const auto t0 = Clock::now();
      const auto r = refine::run_engine(image8, prompts, *network, options, cache, labels);
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      const Json& counts = *r.report.find("counts");
      const Json& timings = *r.report.find("timings");
      const int64_t slices = counts.find("slices")->as_int();
      std::printf("  cache %s: %.2f s total, %lld slices, %lld encoded, %lld cache hits, encode %.2f s, decode %.2f s, "
                  "%.3f s/slice\n",
                  run, s, (long long)slices, (long long)counts.find("encoded")->as_int(),
                  (long long)counts.find("cache_hits")->as_int(), timings.find("encode_s")->as_double(),
                  timings.find("decode_s")->as_double(), slices ? s / double(slices) : 0.0);
      if (std::string(run) == "cold") cold_s = s;
      else std::printf("  warm/cold time ratio: %.3f\n", cold_s > 0 ? s / cold_s : 0.0);
    }
    fs::remove_all(cache_dir);
  } catch (const Error& e) {
    std::fprintf(stderr, "refine_bench: %s\n", e.what());
    return int(e.code());
  }
  return 0;
}
