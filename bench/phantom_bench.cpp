// Time to make each phantom kind at its default size on one thread (CPU time and wall time), and
// a check that two runs give the same bytes. Usage: phantom_bench [--repeat N]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "voxseg/phantom/phantom.h"

namespace ph = voxseg::phantom;

int main(int argc, char** argv) {
  int repeat = 3;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
  std::printf("%-11s %-15s %8s %10s %10s %10s %s\n", "kind", "size", "Mvoxel", "cpu_s", "wall_s", "Mvox/cpu_s",
              "identical");
  for (const auto kind : {ph::PhantomKind::CtAbdomen, ph::PhantomKind::MrBrain, ph::PhantomKind::Cells}) {
    ph::PhantomOptions o;
    o.kind = kind;
    o.seed = 1;
    const auto r = ph::resolve_options(o);
    double best_cpu = 1e30, best_wall = 1e30;
    ph::Phantom first;
    bool identical = true;
    for (int k = 0; k < repeat; ++k) {
      const std::clock_t c0 = std::clock();
      const auto w0 = std::chrono::steady_clock::now();
      ph::Phantom p = ph::make_phantom(o);
      const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
      best_cpu = std::min(best_cpu, cpu);
      best_wall = std::min(best_wall, wall);
      if (k == 0) {
        first = std::move(p);
      } else {
        const size_t bytes = size_t(first.image.data.numel()) * first.image.data.element_size();
        identical = identical && std::memcmp(first.image.data.data_ptr(), p.image.data.data_ptr(), bytes) == 0;
      }
    }
    const double mvox = double(r.size[0] * r.size[1] * r.size[2]) / 1e6;
    std::printf("%-11s %4lldx%4lldx%4lld %8.2f %10.3f %10.3f %10.2f %s\n", ph::kind_name(kind).c_str(),
                (long long)r.size[0], (long long)r.size[1], (long long)r.size[2], mvox, best_cpu, best_wall,
                mvox / best_cpu, identical ? "yes" : "NO");
  }
  return 0;
}
