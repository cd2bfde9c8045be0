#include "voxseg/metrics/resample.h"

#include <ATen/ops/zeros.h>

#include <cmath>
#include <cstring>

#include "voxseg/core/error.h"
#include "voxseg/metrics/edt.h"

namespace voxseg::metrics {
namespace {

using Mat = std::array<double, 9>;

Mat multiply(const Mat& a, const Mat& b) {
  Mat c{};
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3; ++k)
      for (int j = 0; j < 3; ++j) c[r * 3 + j] += a[r * 3 + k] * b[k * 3 + j];
  return c;
}

Mat inverse(const Mat& m) {
  const double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                     m[2] * (m[3] * m[7] - m[4] * m[6]);
  if (std::abs(det) < 1e-12) fail(ExitCode::BadInput, "singular direction matrix; cannot resample");
  Mat inv{(m[4] * m[8] - m[5] * m[7]), -(m[1] * m[8] - m[2] * m[7]), (m[1] * m[5] - m[2] * m[4]),
          -(m[3] * m[8] - m[5] * m[6]), (m[0] * m[8] - m[2] * m[6]), -(m[0] * m[5] - m[2] * m[3]),
          (m[3] * m[7] - m[4] * m[6]), -(m[0] * m[7] - m[1] * m[6]), (m[0] * m[4] - m[1] * m[3])};
  for (double& v : inv) v /= det;
  return inv;
}

// Index (x, y, z) -> physical: D S i + o.
Mat index_matrix(const Geometry& g) {
  Mat m = g.direction;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) m[r * 3 + c] *= g.spacing[c];
  return m;
}

}  // namespace

Volume resample_nearest(const Volume& labels, const Geometry& target) {
  at::Tensor src = labels.data;
  if (src.dim() == 4 && src.size(0) == 1) src = src.select(0, 0);
  if (src.dim() != 3) fail(ExitCode::BadInput, "cannot resample a label map with {} dimensions", src.dim());
  src = src.contiguous();
  const Geometry& sg = labels.geometry;
  // Target index -> source index: A i + b.
  const Mat to_src = inverse(index_matrix(sg));
  const Mat a = multiply(to_src, index_matrix(target));
  std::array<double, 3> b{};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) b[r] += to_src[r * 3 + c] * (target.origin[c] - sg.origin[c]);

  const int64_t tx = target.size[0], ty = target.size[1], tz = target.size[2];
  const int64_t sx = src.size(2), sy = src.size(1), sz = src.size(0);
  at::Tensor out = at::zeros({tz, ty, tx}, src.options());
  const size_t esize = src.element_size();
  const char* in = static_cast<const char*>(src.data_ptr());
  char* dst = static_cast<char*>(out.data_ptr());
  parallel_for(tz * ty, 0, [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const double z = double(row / ty), y = double(row % ty);
      for (int64_t x = 0; x < tx; ++x) {
        int64_t j[3];
        for (int k = 0; k < 3; ++k)
          j[k] = int64_t(std::floor(a[k * 3] * double(x) + a[k * 3 + 1] * y + a[k * 3 + 2] * z + b[k] + 0.5));
        if (j[0] < 0 || j[0] >= sx || j[1] < 0 || j[1] >= sy || j[2] < 0 || j[2] >= sz) continue;
        std::memcpy(dst + size_t(row * tx + x) * esize, in + size_t((j[2] * sy + j[1]) * sx + j[0]) * esize, esize);
      }
    }
  });
  return Volume{out, target};
}

}  // namespace voxseg::metrics
