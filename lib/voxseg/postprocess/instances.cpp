#include "voxseg/postprocess/instances.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "voxseg/core/error.h"
#include "voxseg/postprocess/components.h"

namespace voxseg::postprocess {

InstanceOptions parse_instance_options(const Json& json) {
  InstanceOptions o;
  if (json.is_null() || (json.is_bool() && json.as_bool())) return o;
  if (!json.is_object()) throw std::invalid_argument("'instances' must be an object or true");
  for (const auto& [key, value] : json.as_object()) {
    if (!value.is_int()) throw std::invalid_argument("'instances." + key + "' must be an integer");
    if (key == "interior") o.interior = value.as_int();
    else if (key == "boundary") o.boundary = value.as_int();
    else if (key == "min_size_voxels") o.min_size_voxels = value.as_int();
    else if (key == "connectivity") o.connectivity = int(value.as_int());
    else if (key == "seed_erosion") o.seed_erosion = value.as_int();
    else throw std::invalid_argument("unknown key 'instances." + key + "'");
  }
  if (o.seed_erosion < 0 || o.seed_erosion > 64) throw std::invalid_argument("'instances.seed_erosion' must be 0..64");
  return o;
}

namespace {

// 6-connected erosion of a binary mask [nz,ny,nx], voxels outside the image counting as unset.
std::vector<uint8_t> erode6(const std::vector<uint8_t>& m, int64_t nz, int64_t ny, int64_t nx) {
  std::vector<uint8_t> out(m.size(), 0);
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        const int64_t i = (z * ny + y) * nx + x;
        if (!m[size_t(i)] || z == 0 || y == 0 || x == 0 || z == nz - 1 || y == ny - 1 || x == nx - 1) continue;
        out[size_t(i)] = m[size_t(i - ny * nx)] && m[size_t(i + ny * nx)] && m[size_t(i - nx)] && m[size_t(i + nx)] &&
                         m[size_t(i - 1)] && m[size_t(i + 1)];
      }
  return out;
}

// Seeds when seed_erosion > 0: components of the eroded interior, then each interior component the
// erosion removed entirely. Writes ids (int32, 0 elsewhere) and returns the number of seeds.
int64_t eroded_seeds(const at::Tensor& interior, const InstanceOptions& o, int32_t* ids) {
  const int64_t nz = interior.size(0), ny = interior.size(1), nx = interior.size(2), n = interior.numel();
  const uint8_t* in = interior.data_ptr<uint8_t>();
  std::vector<uint8_t> eroded(in, in + n);
  for (int64_t k = 0; k < o.seed_erosion; ++k) eroded = erode6(eroded, nz, ny, nx);
  auto eroded_t = at::empty({nz, ny, nx}, at::TensorOptions().dtype(at::kByte));
  std::copy(eroded.begin(), eroded.end(), eroded_t.data_ptr<uint8_t>());
  const Components seeds = connected_components(eroded_t, o.connectivity);
  const Components whole = connected_components(interior, o.connectivity);
  const auto seed_ids = seeds.ids.to(at::kInt).contiguous(), whole_ids = whole.ids.to(at::kInt).contiguous();
  const int32_t* s = seed_ids.data_ptr<int32_t>();
  const int32_t* w = whole_ids.data_ptr<int32_t>();
  std::vector<uint8_t> kept(size_t(whole.count() + 1), 0);
  for (int64_t i = 0; i < n; ++i)
    if (s[i] > 0) kept[size_t(w[i])] = 1;
  std::vector<int32_t> extra(kept.size(), 0);
  int64_t count = seeds.count();
  for (size_t k = 1; k < kept.size(); ++k)
    if (!kept[k]) extra[k] = int32_t(++count);
  for (int64_t i = 0; i < n; ++i) ids[i] = s[i] > 0 ? s[i] : w[i] > 0 ? extra[size_t(w[i])] : 0;
  return count;
}

// Breadth-first growth of the labelled voxels of ids into unlabelled voxels of class `into`, one ring
// at a time (a voxel joins the seed that reaches it first; ties: lower id wins).
void grow(const int64_t* c, int64_t into, int64_t nz, int64_t ny, int64_t nx, int32_t* ids) {
  std::vector<int64_t> frontier;
  for (int64_t i = 0; i < nz * ny * nx; ++i)
    if (ids[i] > 0) frontier.push_back(i);
  const int64_t steps[6][3] = {{-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}};
  while (!frontier.empty()) {
    std::vector<int64_t> next;
    for (int64_t i : frontier) {
      const int64_t z = i / (ny * nx), y = (i / nx) % ny, x = i % nx;
      for (const auto& s : steps) {
        const int64_t zz = z + s[0], yy = y + s[1], xx = x + s[2];
        if (zz < 0 || yy < 0 || xx < 0 || zz >= nz || yy >= ny || xx >= nx) continue;
        const int64_t j = (zz * ny + yy) * nx + xx;
        if (c[j] != into) continue;
        if (ids[j] == 0) {
          ids[j] = -ids[i];  // claimed this ring (negative until the ring ends)
          next.push_back(j);
        } else if (ids[j] < 0 && -ids[j] > std::abs(ids[i])) {
          ids[j] = -std::abs(ids[i]);
        }
      }
    }
    for (int64_t j : next) ids[j] = -ids[j];
    frontier.swap(next);
  }
}

}  // namespace

at::Tensor instances_from_classes(const at::Tensor& classes, const InstanceOptions& o) {
  if (o.seed_erosion < 0) fail(ExitCode::Usage, "instance seed_erosion must be >= 0, not {}", o.seed_erosion);
  const auto cls = classes.to(at::kLong).contiguous();
  const int64_t nz = cls.size(0), ny = cls.size(1), nx = cls.size(2), n = cls.numel();
  const int64_t* c = cls.data_ptr<int64_t>();
  auto interior = at::empty({nz, ny, nx}, at::TensorOptions().dtype(at::kByte));
  uint8_t* in = interior.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) in[i] = c[i] == o.interior;
  at::Tensor ids_t;
  int64_t seeds = 0;
  if (o.seed_erosion == 0) {
    const Components comp = connected_components(interior, o.connectivity);
    ids_t = comp.ids.to(at::kInt).contiguous();
    seeds = comp.count();
  } else {
    ids_t = at::zeros({nz, ny, nx}, at::TensorOptions().dtype(at::kInt));
    seeds = eroded_seeds(interior, o, ids_t.data_ptr<int32_t>());
    grow(c, o.interior, nz, ny, nx, ids_t.data_ptr<int32_t>());
  }
  int32_t* ids = ids_t.data_ptr<int32_t>();
  grow(c, o.boundary, nz, ny, nx, ids);
  // Drop small instances, renumber 1..M.
  std::vector<int64_t> size(size_t(seeds + 1), 0);
  for (int64_t i = 0; i < n; ++i) ++size[size_t(ids[i])];
  std::vector<int32_t> remap(size.size(), 0);
  int32_t next_id = 0;
  for (size_t k = 1; k < size.size(); ++k)
    if (size[k] >= o.min_size_voxels && size[k] > 0) remap[k] = ++next_id;
  for (int64_t i = 0; i < n; ++i) ids[i] = remap[size_t(ids[i])];
  return ids_t;
}

}  // namespace voxseg::postprocess
