#include "voxseg/core/runtime_info.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <utility>

#include "voxseg/core/log.h"

namespace voxseg {
namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The library a loaded symbol comes from, as a real path ("" if the symbol is not loaded).
std::string library_of(const char* symbol) {
  void* address = dlsym(RTLD_DEFAULT, symbol);
  Dl_info where{};
  if (!address || !dladdr(address, &where) || !where.dli_fname) return "";
  std::error_code ec;
  const auto real = std::filesystem::canonical(where.dli_fname, ec);
  return ec ? std::string(where.dli_fname) : real.string();
}

// Looks a symbol up in one already-loaded library only (not the whole process).
void* symbol_in(const std::string& library, const char* symbol) {
  void* handle = dlopen(library.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (!handle) return nullptr;
  void* s = dlsym(handle, symbol);
  dlclose(handle);  // RTLD_NOLOAD took a reference; the library stays loaded
  return s;
}

std::string blas_version(const std::string& path, const std::string& flavour) {
  if (flavour.rfind("openblas", 0) == 0) {
    if (auto config = reinterpret_cast<const char* (*)()>(symbol_in(path, "openblas_get_config"))) {
      std::string text = config();  // "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
      if (text.rfind("OpenBLAS ", 0) == 0) text = text.substr(9);
      return text.substr(0, text.find(' '));
    }
  }
  if (flavour.rfind("blis", 0) == 0) {
    if (auto v = reinterpret_cast<const char* (*)()>(symbol_in(path, "bli_info_get_version_str"))) return v();
  }
  const auto so = path.rfind(".so.");  // libblas.so.3.11.0 -> 3.11.0
  return so == std::string::npos ? "" : path.substr(so + 4);
}

struct DnnlVersion {
  int major, minor, patch;
  const char* hash;
  unsigned cpu_runtime, gpu_runtime;
};

}  // namespace

std::string blas_flavour(const std::string& real_path) {
  for (const char* name : {"openblas-pthread", "openblas-openmp", "openblas-serial", "blis-pthread", "blis-openmp",
                           "blis-serial", "openblas", "blis", "mkl", "atlas"})
    if (contains(real_path, name)) return name;
  if (contains(real_path, "/blas/") || contains(real_path, "libblas.so")) return "reference";
  return "unknown";
}

std::string onednn_isa_name(unsigned value) {
  // oneDNN 2.x dnnl_cpu_isa_t (oneDNN 3 renumbered them; LibTorch 1.13 uses 2.x).
  static const std::pair<unsigned, const char*> kNames[] = {{0x0, "all"},
                                                            {0x1, "sse41"},
                                                            {0x3, "avx"},
                                                            {0x7, "avx2"},
                                                            {0xf, "avx512_mic"},
                                                            {0x1f, "avx512_mic_4ops"},
                                                            {0x27, "avx512_core"},
                                                            {0x67, "avx512_core_vnni"},
                                                            {0xe7, "avx512_core_bf16"},
                                                            {0x3e7, "avx512_core_amx"},
                                                            {0x407, "avx2_vnni"}};
  for (const auto& [v, name] : kNames)
    if (v == value) return name;
  return fmt::format("0x{:x}", value);
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.blas_path = library_of("sgemm_");
  if (!info.blas_path.empty()) {
    const std::string flavour = blas_flavour(info.blas_path);
    const std::string version = blas_version(info.blas_path, flavour);
    info.blas = version.empty() ? flavour : flavour + " " + version;
    info.reference_blas = flavour == "reference";
  }
  if (auto version = reinterpret_cast<const DnnlVersion* (*)()>(dlsym(RTLD_DEFAULT, "dnnl_version"))) {
    const DnnlVersion* v = version();
    info.onednn = fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
    if (auto isa = reinterpret_cast<unsigned (*)()>(dlsym(RTLD_DEFAULT, "dnnl_get_effective_cpu_isa")))
      info.onednn_isa = v->major == 2 ? onednn_isa_name(isa()) : fmt::format("0x{:x}", isa());
  }
  info.threads = at::get_num_threads();
  return info;
}

Json runtime_json(const RuntimeInfo& info) {
  Json j = Json::object();
  j["blas"] = info.blas_path.empty() ? info.blas : info.blas + " " + info.blas_path;
  j["onednn"] = info.onednn;
  j["onednn_isa"] = info.onednn_isa;
  j["threads"] = info.threads;
  return j;
}

std::string describe_runtime(const RuntimeInfo& info) {
  return fmt::format("BLAS: {} ({}){}\noneDNN: {}, ISA {}\nthreads: {}", info.blas,
                     info.blas_path.empty() ? "sgemm_ not loaded" : info.blas_path,
                     info.reference_blas ? " -- slow reference BLAS, see docs/performance.md" : "",
                     info.onednn.empty() ? "not loaded" : info.onednn,
                     info.onednn_isa.empty() ? "unknown" : info.onednn_isa, info.threads);
}

bool warn_if_slow_blas() {
  const RuntimeInfo info = runtime_info();
  if (!info.reference_blas) return false;
  log::warn(
      "the reference BLAS {} is loaded: matrix products run ~40x slower; install libopenblas0-pthread "
      "(scripts/setup.sh) or select it with update-alternatives --config libblas.so.3-x86_64-linux-gnu",
      info.blas_path);
  return true;
}

}  // namespace voxseg
