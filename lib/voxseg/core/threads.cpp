#include "voxseg/core/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <fstream>
#include <thread>

namespace voxseg {

int available_cores() {
  int n = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) n = CPU_COUNT(&set);
  if (n <= 0) n = int(std::thread::hardware_concurrency());
  // cgroup v2 CPU quota ("max 100000" or "200000 100000").
  std::ifstream quota("/sys/fs/cgroup/cpu.max");
  std::string max_text;
  long period = 0;
  if (quota >> max_text >> period && max_text != "max" && period > 0) {
    const long limit = std::stol(max_text);
    n = std::min<int>(n, std::max<int>(1, int((limit + period - 1) / period)));
  }
  return std::max(n, 1);
}

int blas_threads() {
  using Get = int (*)();
  for (const char* name : {"openblas_get_num_threads", "bli_thread_get_num_threads"})
    if (auto get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, name))) return get();
  return 0;
}

void set_compute_threads(int n) {
  if (n <= 0) n = available_cores();
  at::set_num_threads(n);  // OpenMP: ATen's parallel loops and oneDNN
  // The BLAS (OpenBLAS pthread, BLIS) has its own pool, sized to every core by default: ATen calls
  // sgemm_ for matrix products (the 1x1 head, linear layers), also from inside its parallel loops.
  // Give it the same count, or `--threads 1` still runs two BLAS threads.
  using Set = void (*)(int);
  for (const char* name : {"openblas_set_num_threads", "bli_thread_set_num_threads"})
    if (auto set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, name))) set(n);
}

}  // namespace voxseg
