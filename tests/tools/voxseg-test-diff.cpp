// voxseg-test-diff A B [--abs X] [--frac F] [--geometry-tol T] [--series UID]
// Test-only comparison: geometry must agree (sizes exactly; spacing/origin/direction within
// --geometry-tol, default 1e-4, enough for NIfTI's float32 header fields), every voxel within
// max(--abs, --frac * max(|a|,|b|)). Exit 0 same, 1 differ, 3 unreadable, 2 usage.
#include <ATen/ATen.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/io/volume_io.h"

namespace {
int usage() {
  std::fprintf(stderr, "usage: voxseg-test-diff A B [--abs X] [--frac F] [--geometry-tol T] [--series UID]\n");
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  voxseg::log::set_program("voxseg-test-diff");
  std::string a_path, b_path;
  double abs_tol = 0, frac_tol = 0, geometry_tol = 1e-4;
  voxseg::io::ReadOptions read;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](double& out) {
      if (i + 1 >= argc) return false;
      char* end = nullptr;
      out = std::strtod(argv[++i], &end);
      return end && *end == '\0';
    };
    if (arg == "--abs") {
      if (!value(abs_tol)) return usage();
    } else if (arg == "--frac") {
      if (!value(frac_tol)) return usage();
    } else if (arg == "--geometry-tol") {
      if (!value(geometry_tol)) return usage();
    } else if (arg == "--series") {
      if (i + 1 >= argc) return usage();
      read.series_uid = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      usage();
      return 0;
    } else if (a_path.empty()) {
      a_path = arg;
    } else if (b_path.empty()) {
      b_path = arg;
    } else {
      return usage();
    }
  }
  if (b_path.empty()) return usage();

  voxseg::Volume a, b;
  try {
    a = voxseg::io::read_volume(a_path, read);
    b = voxseg::io::read_volume(b_path, read);
  } catch (const voxseg::Error& e) {
    std::fprintf(stderr, "unreadable: %s\n", e.what());
    return 3;
  }
  const std::string geometry = voxseg::describe_geometry_difference(a.geometry, b.geometry, geometry_tol);
  if (!geometry.empty()) {
    std::printf("geometry differs: %s\n", geometry.c_str());
    return 1;
  }
  if (a.data.sizes() != b.data.sizes()) {
    std::printf("shapes differ (channels?)\n");
    return 1;
  }
  const at::Tensor x = a.data.to(at::kDouble), y = b.data.to(at::kDouble);
  const at::Tensor diff = (x - y).abs();
  const at::Tensor allowed = at::maximum(at::full_like(diff, abs_tol), frac_tol * at::maximum(x.abs(), y.abs()));
  const at::Tensor bad = (diff > allowed).logical_or(x.isnan() != y.isnan());
  const int64_t n_bad = bad.sum().item<int64_t>();
  const double max_diff = diff.numel() ? at::nan_to_num(diff, 0.0).max().item<double>() : 0.0;
  if (n_bad > 0) {
    std::printf("values differ: %lld of %lld voxels beyond tolerance (max |a-b| = %g)\n",
                static_cast<long long>(n_bad), static_cast<long long>(diff.numel()), max_diff);
    return 1;
  }
  std::printf("same (max |a-b| = %g)\n", max_diff);
  return 0;
}
