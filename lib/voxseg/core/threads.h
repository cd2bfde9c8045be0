#pragma once

namespace voxseg {
/// Cores this process may use (affinity mask and cgroup quota respected).
int available_cores();
/// Sets torch's intra-op threads (it can default to 1 here); n <= 0 means available_cores().
void set_compute_threads(int n);
}  // namespace voxseg
