#pragma once

namespace voxseg {
/// Cores this process may use (affinity mask and cgroup quota respected).
int available_cores();
/// Sets the compute threads of the process: torch's intra-op (OpenMP) threads and the BLAS's own
/// pool (OpenBLAS or BLIS, when loaded), so that neither runs more than `n`; n <= 0 means
/// available_cores(). ITK's pool is set by io::set_io_threads.
void set_compute_threads(int n);
/// Threads of the loaded BLAS's pool (OpenBLAS, BLIS); 0 when neither is loaded.
int blas_threads();
}  // namespace voxseg
