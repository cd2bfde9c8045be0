#pragma once
#include <string>

#include "voxseg/core/json.h"

namespace voxseg {

/// The math libraries this process actually runs on, found at run time: Debian picks libblas.so.3
/// through update-alternatives, so the build cannot know it (docs/performance.md).
struct RuntimeInfo {
  std::string blas = "unknown";  ///< flavour and version, e.g. "openblas-pthread 0.3.21", "reference 3.11.0"
  std::string blas_path;         ///< realpath of the library that defines sgemm_ ("" if none is loaded)
  bool reference_blas = false;   ///< Netlib's reference BLAS: matrix products ~40x slower than OpenBLAS
  std::string onednn;            ///< oneDNN version, e.g. "2.6.3" ("" if not loaded)
  std::string onednn_isa;        ///< instruction set oneDNN uses, e.g. "avx512_core", "avx2"
  int threads = 0;               ///< torch intra-op threads
};

/// Inspects the running process (dladdr on sgemm_, dnnl_get_effective_cpu_isa, at::get_num_threads).
RuntimeInfo runtime_info();

/// {"blas": "openblas-pthread 0.3.21 /usr/lib/.../libblas.so.3", "onednn_isa": ..., "onednn": ..., "threads": N}
Json runtime_json(const RuntimeInfo& info = runtime_info());

/// Lines for `--version -v`: "BLAS: ...", "oneDNN: ...", "threads: N".
std::string describe_runtime(const RuntimeInfo& info = runtime_info());

/// Logs one warning (stderr) when the reference BLAS is the one loaded; compute-heavy programs
/// (predict, train, refine) call it once at start. Returns whether it warned.
bool warn_if_slow_blas();

/// Pure helpers, exposed for tests.
/// Flavour from the library's real path: "openblas-pthread", "openblas-openmp", "blis-pthread",
/// "reference" (Debian's /blas/ folder), "mkl", ... or "unknown".
std::string blas_flavour(const std::string& real_path);
/// oneDNN 2.x's dnnl_cpu_isa_t value as a name ("avx2"); unknown values as hex.
std::string onednn_isa_name(unsigned value);

}  // namespace voxseg
