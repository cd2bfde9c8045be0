#pragma once

namespace voxseg::io {
/// Threads of ITK's pool (filters that IO runs: DICOM tilt resampling, orientation, ...): its
/// global default and maximum, so reading and writing use at most `n`; n <= 0 means available_cores().
void set_io_threads(int n);
/// ITK's global default number of threads (for tests and reports).
int io_threads();
}  // namespace voxseg::io
