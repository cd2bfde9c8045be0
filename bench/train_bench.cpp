// voxseg train's loop on CT phantoms at a realistic field of view, in one process and one run:
// (a) training samples/s and data-wait fraction (time the step is blocked on the next batch / step
// time) for fp32 and bf16 autocast, (b) the data-wait fraction with 0, 1 and 2 loader threads.
// fp32 and bf16 run early and again late (A B C D B A), because the shared machine's load drifts.
// Every configuration trains the same plan from the same seed; the preprocessed cache is shared, so
// only the first run pays for preprocessing (which is not in the step times anyway). The first epoch
// is left out of the means (loader start-up, allocator warm-up).
// Usage: train_bench [--cases N] [--size X,Y,Z] [--spacing X,Y,Z] [--epochs N] [--iterations N]
//                    [--threads N] [--base-features N] [--max-features N] [--memory-gb G] [--keep DIR]
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/core/threads.h"
#include "voxseg/io/volume_io.h"
#include "voxseg/phantom/phantom.h"
#include "voxseg/train/trainer.h"

namespace fs = std::filesystem;
namespace ph = voxseg::phantom;
namespace vt = voxseg::train;

namespace {

struct Args {
  int cases = 4, epochs = 3, iterations = 10, threads = 2;
  std::array<int64_t, 3> size{96, 96, 40};
  std::array<double, 3> spacing{4, 4, 6.3};
  int64_t base_features = 16, max_features = 128;
  double memory_gb = 1.0;
  std::string keep;
};

template <typename T>
std::array<T, 3> triple(const char* text) {
  double a = 0, b = 0, c = 0;
  if (std::sscanf(text, "%lf,%lf,%lf", &a, &b, &c) != 3) {
    std::fprintf(stderr, "train_bench: expected X,Y,Z, not '%s'\n", text);
    std::exit(2);
  }
  return {T(a), T(b), T(c)};
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--cases") a.cases = std::atoi(v);
    else if (k == "--size") a.size = triple<int64_t>(v);
    else if (k == "--spacing") a.spacing = triple<double>(v);
    else if (k == "--epochs") a.epochs = std::max(2, std::atoi(v));
    else if (k == "--iterations") a.iterations = std::atoi(v);
    else if (k == "--threads") a.threads = std::atoi(v);
    else if (k == "--base-features") a.base_features = std::atoll(v);
    else if (k == "--max-features") a.max_features = std::atoll(v);
    else if (k == "--memory-gb") a.memory_gb = std::atof(v);
    else if (k == "--keep") a.keep = v;
    else {
      std::fprintf(stderr, "train_bench: unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

// The phantoms as an nnU-Net folder, the way `voxseg phantom --count N` writes them.
void write_dataset(const Args& a, const fs::path& dir) {
  ph::PhantomOptions o;
  o.kind = ph::PhantomKind::CtAbdomen;
  o.seed = 500;
  o.size = a.size;
  o.spacing_mm = a.spacing;
  const auto plan = ph::plan_outputs(o, a.cases, dir);
  ph::create_output_folders(plan);
  for (const auto& c : plan.cases) {
    const ph::Phantom p = ph::make_phantom(c.options);
    voxseg::io::write_volume(p.image, c.image, {voxseg::io::parse_pixel_type(p.image_file_type), true});
    voxseg::io::write_volume(p.labels, c.labels, {voxseg::io::parse_pixel_type(p.labels_file_type), true});
  }
  voxseg::write_text_atomic(plan.json, ph::dataset_json(o, a.cases).dump(2) + "\n", true);
}

struct Measured {
  double samples_per_second = 0, wait_fraction = 0, first_epoch_wait = 0, step_seconds = 0;
};

Measured train(const Args& a, const fs::path& data, const fs::path& work, const std::string& name,
               const std::string& precision, int workers) {
  vt::TrainOptions o;
  o.dataset = data.string();
  o.output = work / name;
  o.cache = work / "cache";
  o.fold = -1;  // every case, no validation: the loop alone
  o.epochs = a.epochs;
  o.iterations_per_epoch = a.iterations;
  o.precision = precision;
  o.workers = workers;
  o.seed = 3;
  o.force = true;
  o.plan.base_features = a.base_features;
  o.plan.max_features = a.max_features;
  o.plan.memory_gb = a.memory_gb;
  const auto t0 = std::chrono::steady_clock::now();
  vt::run_training(o);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto rows = voxseg::read_json_file((o.output / "training_log.json").string(), voxseg::ExitCode::BadInput);
  Measured m;
  int n = 0;
  for (const auto& r : rows.as_array()) {
    const double sps = r.find("samples_per_second")->as_double();
    const double wait = r.find("data_wait_fraction")->as_double();
    if (r.find("epoch")->as_int() == 1) {
      m.first_epoch_wait = wait;
      continue;
    }
    m.samples_per_second += sps;
    m.wait_fraction += wait;
    ++n;
  }
  m.samples_per_second /= n;
  m.wait_fraction /= n;
  const auto model = voxseg::read_json_file((o.output / "model.json").string(), voxseg::ExitCode::BadInput);
  const int64_t batch = model.find("training")->find("options")->find("batch_size")->as_int();
  m.step_seconds = batch / m.samples_per_second;
  std::fprintf(stderr, "train_bench: %-14s done in %.0f s\n", name.c_str(), wall);
  return m;
}

double load_average() {
  double l = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = 0;
    std::fclose(f);
  }
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines appear as they are measured, also in a file
  voxseg::log::set_program("train_bench");
  voxseg::log::set_level(voxseg::log::Level::Warn);
  voxseg::set_compute_threads(a.threads);
  const fs::path work = a.keep.empty() ? fs::temp_directory_path() / ("voxseg_train_bench_" + std::to_string(::getpid()))
                                       : fs::path(a.keep);
  try {
    fs::create_directories(work);
    const fs::path data = work / "data";
    if (!fs::exists(data / "dataset.json")) write_dataset(a, data);
    std::printf("train_bench: %d CT phantoms %lldx%lldx%lld at %gx%gx%g mm, %d epochs x %d steps (first epoch left out), "
                "%d torch threads, %d cores available, load average %.1f at start\n",
                a.cases, (long long)a.size[0], (long long)a.size[1], (long long)a.size[2], a.spacing[0], a.spacing[1],
                a.spacing[2], a.epochs, a.iterations, a.threads, voxseg::available_cores(), load_average());
    const Measured fp32 = train(a, data, work, "fp32-workers1", "fp32", 1);
    const auto model = voxseg::read_json_file((work / "fp32-workers1" / "model.json").string(), voxseg::ExitCode::BadInput);
    const auto& plan = *model.find("training")->find("plan");
    std::printf("plan: patch %s (z,y,x), batch %lld, features %s, spacing %s mm\n", plan.find("patch_size")->dump().c_str(),
                (long long)plan.find("batch_size")->as_int(), plan.find("network")->find("features_per_stage")->dump().c_str(),
                plan.find("target_spacing_mm")->dump().c_str());
    // A B C D B A order: the machine's load drifts (shared cores), so fp32 and bf16 are each measured
    // early and late and compared by their means.
    const Measured bf16 = train(a, data, work, "bf16-workers1", "bf16", 1);
    const Measured w0 = train(a, data, work, "fp32-workers0", "fp32", 0);
    const Measured w2 = train(a, data, work, "fp32-workers2", "fp32", 2);
    const Measured bf16b = train(a, data, work, "bf16-workers1-b", "bf16", 1);
    const Measured fp32b = train(a, data, work, "fp32-workers1-b", "fp32", 1);
    std::printf("\n%-30s %10s %9s %16s %18s\n", "configuration (run order)", "samples/s", "step s", "data wait",
                "data wait epoch 1");
    auto line = [](const char* n, const Measured& m) {
      std::printf("%-30s %10.2f %9.2f %15.1f%% %17.1f%%\n", n, m.samples_per_second, m.step_seconds, 100 * m.wait_fraction,
                  100 * m.first_epoch_wait);
    };
    line("1 fp32, 1 loader thread", fp32);
    line("2 bf16, 1 loader thread", bf16);
    line("3 fp32, 0 (inline loading)", w0);
    line("4 fp32, 2 loader threads", w2);
    line("5 bf16, 1 loader thread", bf16b);
    line("6 fp32, 1 loader thread", fp32b);
    std::printf("\nbf16 / fp32 samples/s: %.2fx (runs 2+5 vs 1+6; pairs: %.2fx early, %.2fx late)\n",
                (bf16.samples_per_second + bf16b.samples_per_second) / (fp32.samples_per_second + fp32b.samples_per_second),
                bf16.samples_per_second / fp32.samples_per_second, bf16b.samples_per_second / fp32b.samples_per_second);
    std::printf("data wait with 1 loader thread: %.1f%% (fp32), %.1f%% (bf16) of step time (target < 5%%)\n",
                50 * (fp32.wait_fraction + fp32b.wait_fraction), 50 * (bf16.wait_fraction + bf16b.wait_fraction));
    std::printf("load average at the end: %.1f\n", load_average());
  } catch (const voxseg::Error& e) {
    std::fprintf(stderr, "train_bench: error: %s\n", e.what());
    return 1;
  }
  if (a.keep.empty()) fs::remove_all(work);
  return 0;
}
