#include "voxseg/postprocess/components.h"

#include <ATen/ops/empty.h>

#include <array>
#include <map>
#include <numeric>

#include "voxseg/core/error.h"

namespace voxseg::postprocess {
namespace {

struct Offset { int64_t dz, dy, dx; };

// Neighbours that come earlier in raster order (half of the neighbourhood).
std::vector<Offset> backward_offsets(int connectivity, bool planar) {
  if (connectivity != 6 && connectivity != 18 && connectivity != 26 && connectivity != 4 && connectivity != 8)
    fail(ExitCode::Usage, "connectivity must be 6, 18 or 26 (4 or 8 in 2D), got {}", connectivity);
  std::vector<Offset> out;
  for (int64_t dz = -1; dz <= 0; ++dz)
    for (int64_t dy = -1; dy <= 1; ++dy)
      for (int64_t dx = -1; dx <= 1; ++dx) {
        if (dz == 0 && (dy > 0 || (dy == 0 && dx >= 0))) continue;
        if (planar && dz != 0) continue;
        const int m = int(std::abs(dz) + std::abs(dy) + std::abs(dx));
        const int limit = (connectivity == 6 || connectivity == 4) ? 1 : connectivity == 18 ? 2 : 3;
        if (m <= limit) out.push_back({dz, dy, dx});
      }
  return out;
}

std::vector<Offset> all_offsets(int connectivity, bool planar) {
  std::vector<Offset> out = backward_offsets(connectivity, planar);
  const size_t n = out.size();
  for (size_t i = 0; i < n; ++i) out.push_back({-out[i].dz, -out[i].dy, -out[i].dx});
  return out;
}

int64_t find(std::vector<int64_t>& parent, int64_t i) {
  while (parent[size_t(i)] != i) {
    parent[size_t(i)] = parent[size_t(parent[size_t(i)])];
    i = parent[size_t(i)];
  }
  return i;
}

at::Tensor as_int64(const at::Tensor& labels) { return labels.to(at::kLong).contiguous(); }

}  // namespace

Components connected_components(const at::Tensor& labels, int connectivity) {
  if (labels.dim() != 3) fail(ExitCode::Internal, "connected_components expects [Z,Y,X]");
  const at::Tensor lab = as_int64(labels);
  const int64_t nz = lab.size(0), ny = lab.size(1), nx = lab.size(2), n = lab.numel();
  const int64_t* v = lab.data_ptr<int64_t>();
  const auto offsets = backward_offsets(connectivity, nz == 1);
  std::vector<int64_t> parent(static_cast<size_t>(n), -1);
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        const int64_t i = (z * ny + y) * nx + x;
        if (v[i] == 0) continue;
        parent[size_t(i)] = i;
        for (const auto& o : offsets) {
          const int64_t zz = z + o.dz, yy = y + o.dy, xx = x + o.dx;
          if (zz < 0 || yy < 0 || yy >= ny || xx < 0 || xx >= nx) continue;
          const int64_t j = (zz * ny + yy) * nx + xx;
          if (v[j] != v[i]) continue;
          const int64_t a = find(parent, i), b = find(parent, j);
          if (a != b) parent[size_t(std::max(a, b))] = std::min(a, b);
        }
      }
  Components out;
  out.ids = at::empty({nz, ny, nx}, at::kInt);
  int32_t* ids = out.ids.data_ptr<int32_t>();
  std::vector<int32_t> root_id(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (v[i] == 0) {
      ids[i] = 0;
      continue;
    }
    const int64_t r = find(parent, i);
    if (root_id[size_t(r)] == 0) {
      out.label.push_back(v[i]);
      out.voxels.push_back(0);
      root_id[size_t(r)] = int32_t(out.voxels.size());
    }
    ids[i] = root_id[size_t(r)];
    ++out.voxels[size_t(root_id[size_t(r)] - 1)];
  }
  return out;
}

int64_t fill_holes(at::Tensor& labels, int background_connectivity, int64_t* holes) {
  at::Tensor lab = as_int64(labels);
  const int64_t nz = lab.size(0), ny = lab.size(1), nx = lab.size(2), n = lab.numel();
  int64_t* v = lab.data_ptr<int64_t>();
  // Components of the background: label it 1, everything else 0.
  const Components bg = connected_components(lab.eq(0), background_connectivity);
  const int32_t* ids = bg.ids.data_ptr<int32_t>();
  const bool planar = nz == 1;
  const auto offsets = all_offsets(background_connectivity, planar);
  const int64_t kNone = -1, kMixed = -2;
  std::vector<int64_t> enclosing(static_cast<size_t>(bg.count()), kNone);
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        const int64_t i = (z * ny + y) * nx + x;
        if (ids[i] == 0) continue;
        int64_t& e = enclosing[size_t(ids[i] - 1)];
        const bool border = (!planar && (z == 0 || z == nz - 1)) || y == 0 || y == ny - 1 || x == 0 || x == nx - 1;
        if (border) {
          e = kMixed;
          continue;
        }
        if (e == kMixed) continue;
        for (const auto& o : offsets) {
          const int64_t j = ((z + o.dz) * ny + y + o.dy) * nx + x + o.dx;
          if (v[j] == 0) continue;
          if (e == kNone) e = v[j]; else if (e != v[j]) { e = kMixed; break; }
        }
      }
  int64_t filled = 0, count = 0;
  for (int64_t c = 0; c < bg.count(); ++c)
    if (enclosing[size_t(c)] > 0) ++count;
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] > 0 && enclosing[size_t(ids[i] - 1)] > 0) {
      v[i] = enclosing[size_t(ids[i] - 1)];
      ++filled;
    }
  if (holes) *holes = count;
  if (filled) labels.copy_(lab.to(labels.scalar_type()));
  return filled;
}

Json apply(at::Tensor& labels, double voxel_volume_mm3, const Options& o) {
  Json report = Json::object();
  int64_t removed = 0, removed_components = 0;
  if (o.largest_component || o.min_size_ml > 0) {
    const Components cc = connected_components(labels, o.connectivity);
    std::vector<bool> keep(static_cast<size_t>(cc.count()), true);
    if (o.min_size_ml > 0) {
      const double min_voxels = o.min_size_ml * 1000.0 / voxel_volume_mm3;
      for (int64_t c = 0; c < cc.count(); ++c)
        if (double(cc.voxels[size_t(c)]) < min_voxels) keep[size_t(c)] = false;
    }
    if (o.largest_component) {
      std::map<int64_t, std::pair<int64_t, int64_t>> largest;
      for (int64_t c = 0; c < cc.count(); ++c) {
        auto it = largest.find(cc.label[size_t(c)]);
        if (it == largest.end() || cc.voxels[size_t(c)] > it->second.first)
          largest[cc.label[size_t(c)]] = {cc.voxels[size_t(c)], c};
      }
      for (int64_t c = 0; c < cc.count(); ++c)
        if (largest[cc.label[size_t(c)]].second != c) keep[size_t(c)] = false;
    }
    at::Tensor lab = as_int64(labels);
    int64_t* v = lab.data_ptr<int64_t>();
    const int32_t* ids = cc.ids.data_ptr<int32_t>();
    for (int64_t i = 0; i < lab.numel(); ++i)
      if (ids[i] > 0 && !keep[size_t(ids[i] - 1)]) {
        v[i] = 0;
        ++removed;
      }
    for (bool k : keep) removed_components += k ? 0 : 1;
    if (removed) labels.copy_(lab.to(labels.scalar_type()));
  }
  int64_t filled = 0, holes = 0;
  if (o.fill_holes) {
    const int bg = o.connectivity == 6 ? 26 : 6;
    filled = fill_holes(labels, bg, &holes);
  }
  report["removed_voxels"] = removed;
  report["components_removed"] = removed_components;
  report["filled_voxels"] = filled;
  report["holes_filled"] = holes;
  return report;
}

}  // namespace voxseg::postprocess
