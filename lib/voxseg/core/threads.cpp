#include "voxseg/core/threads.h"

#include <ATen/Parallel.h>
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

void set_compute_threads(int n) {
  if (n <= 0) n = available_cores();
  at::set_num_threads(n);
}

}  // namespace voxseg
