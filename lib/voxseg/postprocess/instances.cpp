#include "voxseg/postprocess/instances.h"

#include <ATen/ops/empty.h>

#include <stdexcept>
#include <vector>

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
    else throw std::invalid_argument("unknown key 'instances." + key + "'");
  }
  return o;
}

at::Tensor instances_from_classes(const at::Tensor& classes, const InstanceOptions& o) {
  const auto cls = classes.to(at::kLong).contiguous();
  const int64_t nz = cls.size(0), ny = cls.size(1), nx = cls.size(2), n = cls.numel();
  const int64_t* c = cls.data_ptr<int64_t>();
  auto interior = at::empty({nz, ny, nx}, at::TensorOptions().dtype(at::kByte));
  uint8_t* in = interior.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) in[i] = c[i] == o.interior;
  const Components comp = connected_components(interior, o.connectivity);
  auto ids_t = comp.ids.to(at::kInt).contiguous();
  int32_t* ids = ids_t.data_ptr<int32_t>();
  // Breadth-first growth into boundary voxels, one ring at a time (ties: lower id wins).
  std::vector<int64_t> frontier;
  for (int64_t i = 0; i < n; ++i)
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
        if (c[j] != o.boundary) continue;
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
  // Drop small instances, renumber 1..M.
  std::vector<int64_t> size(size_t(comp.count() + 1), 0);
  for (int64_t i = 0; i < n; ++i) ++size[size_t(ids[i])];
  std::vector<int32_t> remap(size.size(), 0);
  int32_t next_id = 0;
  for (size_t k = 1; k < size.size(); ++k)
    if (size[k] >= o.min_size_voxels && size[k] > 0) remap[k] = ++next_id;
  for (int64_t i = 0; i < n; ++i) ids[i] = remap[size_t(ids[i])];
  return ids_t;
}

}  // namespace voxseg::postprocess
