#include "voxseg/preprocess/crop.h"

#include <ATen/Dispatch.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>

#include <vector>

#include "voxseg/core/error.h"

namespace voxseg::preprocess {

at::Tensor nonzero_mask(const at::Tensor& data) {
  if (data.dim() != 4) fail(ExitCode::Internal, "nonzero_mask expects [C,Z,Y,X], got {} dims", data.dim());
  at::Tensor mask = data.select(0, 0).ne(0);
  for (int64_t c = 1; c < data.size(0); ++c) mask.logical_or_(data.select(0, c).ne(0));
  mask = mask.contiguous();
  // scipy's binary_fill_holes on a single-slice [1,Y,X] array sees every voxel on the z border, so
  // nnU-Net fills nothing there; match it.
  if (mask.size(0) > 1) fill_holes(mask, 6);
  return mask;
}

void fill_holes(at::Tensor& mask, int background_connectivity) {
  if (mask.dim() != 3 || mask.scalar_type() != at::kBool || !mask.is_contiguous())
    fail(ExitCode::Internal, "fill_holes expects a contiguous bool [Z,Y,X] mask");
  const int64_t nz = mask.size(0), ny = mask.size(1), nx = mask.size(2);
  bool* m = mask.data_ptr<bool>();
  const int64_t n = nz * ny * nx;
  if (n == 0) return;
  // Flood the background from the border; what the flood does not reach is a hole.
  std::vector<uint8_t> outside(size_t(n), 0);
  std::vector<int64_t> stack;
  auto push = [&](int64_t i) {
    if (!m[i] && !outside[size_t(i)]) {
      outside[size_t(i)] = 1;
      stack.push_back(i);
    }
  };
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        const bool border = (nz > 1 && (z == 0 || z == nz - 1)) || y == 0 || y == ny - 1 || x == 0 || x == nx - 1;
        if (border) push((z * ny + y) * nx + x);
      }
  const bool full = background_connectivity == 26;
  while (!stack.empty()) {
    const int64_t i = stack.back();
    stack.pop_back();
    const int64_t z = i / (ny * nx), y = (i / nx) % ny, x = i % nx;
    for (int64_t dz = -1; dz <= 1; ++dz)
      for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t manhattan = std::abs(dz) + std::abs(dy) + std::abs(dx);
          if (manhattan == 0 || (!full && manhattan > 1)) continue;
          const int64_t zz = z + dz, yy = y + dy, xx = x + dx;
          if (zz < 0 || zz >= nz || yy < 0 || yy >= ny || xx < 0 || xx >= nx) continue;
          push((zz * ny + yy) * nx + xx);
        }
  }
  for (int64_t i = 0; i < n; ++i)
    if (!outside[size_t(i)]) m[i] = true;
}

BoundingBox bounding_box(const at::Tensor& mask) {
  const at::Tensor m = mask.contiguous();
  const int64_t nz = m.size(0), ny = m.size(1), nx = m.size(2);
  const bool* p = m.data_ptr<bool>();
  BoundingBox box;
  box.begin = {nz, ny, nx};
  box.end = {0, 0, 0};
  bool any = false;
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        if (!p[(z * ny + y) * nx + x]) continue;
        any = true;
        const int64_t idx[3] = {z, y, x};
        for (int a = 0; a < 3; ++a) {
          box.begin[size_t(a)] = std::min(box.begin[size_t(a)], idx[a]);
          box.end[size_t(a)] = std::max(box.end[size_t(a)], idx[a] + 1);
        }
      }
  if (!any) {
    box.begin = {0, 0, 0};
    box.end = {nz, ny, nx};
  }
  return box;
}

BoundingBox nonzero_box(const at::Tensor& data) {
  if (data.dim() != 4) fail(ExitCode::Internal, "nonzero_box expects [C,Z,Y,X], got {} dims", data.dim());
  const int64_t nc = data.size(0), nz = data.size(1), ny = data.size(2), nx = data.size(3);
  BoundingBox box;
  box.begin = {nz, ny, nx};
  box.end = {0, 0, 0};
  AT_DISPATCH_ALL_TYPES_AND(at::kBool, data.scalar_type(), "nonzero_box", [&] {
    const scalar_t* base = data.data_ptr<scalar_t>();
    const int64_t sc = data.stride(0), sz = data.stride(1), sy = data.stride(2), sx = data.stride(3);
    auto nonzero = [&](const scalar_t* row, int64_t x) {
      for (int64_t c = 0; c < nc; ++c)
        if (row[c * sc + x * sx] != scalar_t(0)) return true;
      return false;
    };
    for (int64_t z = 0; z < nz; ++z)
      for (int64_t y = 0; y < ny; ++y) {
        const scalar_t* row = base + z * sz + y * sy;
        int64_t lo = 0;
        while (lo < nx && !nonzero(row, lo)) ++lo;
        if (lo == nx) continue;
        int64_t hi = nx - 1;
        while (!nonzero(row, hi)) --hi;
        box.begin = {std::min(box.begin[0], z), std::min(box.begin[1], y), std::min(box.begin[2], lo)};
        box.end = {std::max(box.end[0], z + 1), std::max(box.end[1], y + 1), std::max(box.end[2], hi + 1)};
      }
  });
  if (box.end[0] == 0) {  // no non-zero voxel
    box.begin = {0, 0, 0};
    box.end = {nz, ny, nx};
  }
  return box;
}

at::Tensor crop(const at::Tensor& data, const BoundingBox& box) {
  const int64_t first = data.dim() - 3;
  at::Tensor out = data;
  for (int a = 0; a < 3; ++a)
    out = out.narrow(first + a, box.begin[size_t(a)], box.end[size_t(a)] - box.begin[size_t(a)]);
  return out.contiguous();
}

}  // namespace voxseg::preprocess
