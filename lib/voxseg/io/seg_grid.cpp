// A label map onto a DICOM series' grid: same grid, the same grid in another voxel order (what
// dcm2niix and nibabel-based tools write), or nearest-neighbour resampling when asked.
#include <ATen/ATen.h>

#include <cmath>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/io/dicom_seg.h"

namespace voxseg::io {
namespace {

std::array<double, 3> column(const Geometry& g, int i) {
  return {g.direction[0 * 3 + i], g.direction[1 * 3 + i], g.direction[2 * 3 + i]};
}
double dot(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

// The same voxels in another order: axis i of `from` is axis perm[i] of `to`, reversed when
// sign[i] < 0. False when the grids are not such a reordering.
bool axis_reordering(const Geometry& from, const Geometry& to, std::array<int, 3>& perm, std::array<int, 3>& sign) {
  std::array<bool, 3> used{false, false, false};
  for (int i = 0; i < 3; ++i) {
    perm[i] = -1;
    for (int j = 0; j < 3; ++j) {
      const double d = dot(column(from, i), column(to, j));
      if (!used[j] && std::abs(std::abs(d) - 1.0) < 1e-4) {
        perm[i] = j;
        sign[i] = d > 0 ? 1 : -1;
        used[j] = true;
        break;
      }
    }
    if (perm[i] < 0) return false;
    const int j = perm[i];
    if (from.size[i] != to.size[j]) return false;
    if (std::abs(from.spacing[i] - to.spacing[j]) > 1e-4 * std::max(1.0, to.spacing[j])) return false;
  }
  // Voxel 0 of `from` must be the corner of `to` the signs say (within 1% of a voxel).
  const std::array<double, 3> delta{from.origin[0] - to.origin[0], from.origin[1] - to.origin[1],
                                    from.origin[2] - to.origin[2]};
  for (int i = 0; i < 3; ++i) {
    const int j = perm[i];
    const double index = dot(delta, column(to, j)) / to.spacing[j];
    const double expected = sign[i] > 0 ? 0.0 : double(to.size[j] - 1);
    if (std::abs(index - expected) > 0.01) return false;
  }
  return true;
}

at::Tensor nearest(const at::Tensor& src, const Geometry& from, const Geometry& to) {
  // index_from = A * index_to + b, with A = S_from^-1 D_from^T D_to S_to and b = S_from^-1 D_from^T (o_to - o_from).
  double a[3][3], b[3];
  for (int i = 0; i < 3; ++i) {
    const auto di = column(from, i);
    for (int j = 0; j < 3; ++j) a[i][j] = dot(di, column(to, j)) * to.spacing[j] / from.spacing[i];
    b[i] = dot(di, {to.origin[0] - from.origin[0], to.origin[1] - from.origin[1], to.origin[2] - from.origin[2]}) /
           from.spacing[i];
  }
  at::Tensor out = at::zeros({to.size[2], to.size[1], to.size[0]}, at::kLong);
  const at::Tensor in = src.contiguous();
  const int64_t* s = in.data_ptr<int64_t>();
  int64_t* o = out.data_ptr<int64_t>();
  const int64_t nx = from.size[0], ny = from.size[1], nz = from.size[2];
  for (int64_t z = 0; z < to.size[2]; ++z)
    for (int64_t y = 0; y < to.size[1]; ++y)
      for (int64_t x = 0; x < to.size[0]; ++x) {
        int64_t idx[3];
        for (int i = 0; i < 3; ++i) idx[i] = std::llround(a[i][0] * x + a[i][1] * y + a[i][2] * z + b[i]);
        if (idx[0] < 0 || idx[1] < 0 || idx[2] < 0 || idx[0] >= nx || idx[1] >= ny || idx[2] >= nz) continue;
        o[(z * to.size[1] + y) * to.size[0] + x] = s[(idx[2] * ny + idx[1]) * nx + idx[0]];
      }
  return out;
}

}  // namespace

at::Tensor labels_on_grid(const Volume& labels, const Geometry& target, bool resample, const std::string& what) {
  if (labels.has_channels() || labels.data.dim() != 3)
    fail(ExitCode::BadInput, "{} is not a 3D label map ({}D data)", what, labels.data.dim());
  at::Tensor data = labels.data;
  if (at::isFloatingType(data.scalar_type())) {
    if (!at::equal(data, data.round()))
      fail(ExitCode::BadInput, "{} holds fractional values; a label map holds integer labels", what);
  }
  data = data.to(at::kLong);
  if (data.numel() > 0 && data.min().item<int64_t>() < 0)
    fail(ExitCode::BadInput, "{} holds negative values; a label map holds labels >= 0", what);
  const Geometry& g = labels.geometry;
  if (same_geometry(g, target)) return data.contiguous();
  std::array<int, 3> perm{}, sign{};
  if (axis_reordering(g, target, perm, sign)) {
    std::vector<int64_t> flips;
    for (int i = 0; i < 3; ++i)
      if (sign[i] < 0) flips.push_back(2 - i);  // tensor dim of axis i
    if (!flips.empty()) data = data.flip(flips);
    std::array<int, 3> inverse{};
    for (int i = 0; i < 3; ++i) inverse[perm[i]] = i;
    return data.permute({2 - inverse[2], 2 - inverse[1], 2 - inverse[0]}).contiguous();
  }
  if (resample) {
    log::info("{} is on another grid ({}); resampled by nearest neighbour", what, describe_geometry_difference(g, target));
    return nearest(data, g, target);
  }
  fail(ExitCode::BadInput, "{} is not on the grid of the reference series ({}); use --resample to map it by nearest "
       "neighbour", what, describe_geometry_difference(g, target));
}

}  // namespace voxseg::io

namespace voxseg::io {

bool looks_like_label_map(const Volume& volume) {
  const at::Tensor& d = volume.data;
  if (!d.defined() || d.numel() == 0 || volume.has_channels() || at::isFloatingType(d.scalar_type()) ||
      d.scalar_type() == at::kBool)
    return false;
  const auto range = at::aminmax(d);
  if (std::get<0>(range).item<int64_t>() != 0 || std::get<1>(range).item<int64_t>() > 65535) return false;
  const at::Tensor values = std::get<0>(at::_unique(d.flatten(), false));
  if (values.numel() > 128) return false;
  return (d == 0).sum().item<int64_t>() * 10 >= d.numel();
}

}  // namespace voxseg::io
