#include "voxseg/metrics/edt.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "voxseg/core/threads.h"

namespace voxseg::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Lower envelope of parabolas y = f[q] + w2 (p - q)^2 (Felzenszwalb & Huttenlocher 2012), in place.
// f holds n values (kInf = no feature on that parabola); v, z are scratch of n and n + 1 entries.
void envelope_1d(double* f, int64_t n, double w2, std::vector<int64_t>& v, std::vector<double>& z,
                 std::vector<double>& out) {
  int64_t k = -1;
  for (int64_t q = 0; q < n; ++q) {
    if (f[q] == kInf) continue;
    while (k >= 0) {
      const int64_t r = v[size_t(k)];
      const double s = ((f[q] + w2 * double(q) * double(q)) - (f[r] + w2 * double(r) * double(r))) /
                       (2.0 * w2 * double(q - r));
      if (s <= z[size_t(k)]) {
        --k;
      } else {
        ++k;
        v[size_t(k)] = q;
        z[size_t(k)] = s;
        z[size_t(k) + 1] = kInf;
        break;
      }
    }
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -kInf;
      z[1] = kInf;
    }
  }
  if (k < 0) return;  // no feature on this line: stays infinite
  int64_t j = 0;
  for (int64_t p = 0; p < n; ++p) {
    while (z[size_t(j) + 1] < double(p)) ++j;
    const double d = double(p - v[size_t(j)]);
    out[size_t(p)] = w2 * d * d + f[v[size_t(j)]];
  }
  std::copy(out.begin(), out.begin() + n, f);
}

// One pass along axis 0 (z) or 1 (y): lines gathered in groups of kBlock neighbouring x columns so
// every strided read fetches a whole cache line.
// need: which lines to compute (indexed by outer * nx + x), or empty for all.
void pass_strided(std::vector<float>& d, const Grid& g, int axis, double w2, int threads,
                  const std::vector<uint8_t>& need) {
  constexpr int64_t kBlock = 16;
  const int64_t nz = g.shape[0], ny = g.shape[1], nx = g.shape[2];
  const int64_t n = axis == 0 ? nz : ny;
  const int64_t stride = axis == 0 ? ny * nx : nx;
  const int64_t outer = axis == 0 ? ny : nz;  // the other non-x axis
  const int64_t xblocks = (nx + kBlock - 1) / kBlock;
  parallel_for(outer * xblocks, threads, [&](int64_t begin, int64_t end) {
    std::vector<double> buf(static_cast<size_t>(n * kBlock)), out(static_cast<size_t>(n));
    std::vector<int64_t> v(static_cast<size_t>(n));
    std::vector<double> z(static_cast<size_t>(n + 1));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / xblocks, x0 = (t % xblocks) * kBlock;
      const int64_t bw = std::min(kBlock, nx - x0);
      if (!need.empty() &&
          std::none_of(need.begin() + o * nx + x0, need.begin() + o * nx + x0 + bw, [](uint8_t v) { return v; }))
        continue;
      const int64_t base = (axis == 0 ? o * nx : o * ny * nx) + x0;
      for (int64_t i = 0; i < n; ++i) {
        const float* src = d.data() + base + i * stride;
        for (int64_t b = 0; b < bw; ++b) buf[size_t(b * n + i)] = double(src[b]);
      }
      for (int64_t b = 0; b < bw; ++b) envelope_1d(buf.data() + b * n, n, w2, v, z, out);
      for (int64_t i = 0; i < n; ++i) {
        float* dst = d.data() + base + i * stride;
        for (int64_t b = 0; b < bw; ++b) dst[b] = float(buf[size_t(b * n + i)]);
      }
    }
  });
}

}  // namespace

int resolve_threads(int threads) { return threads > 0 ? threads : available_cores(); }

void parallel_for(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int64_t t = std::min<int64_t>(resolve_threads(threads), n);
  if (t <= 1) {
    fn(0, n);
    return;
  }
  // More chunks than threads balances uneven lines; threads pull chunks in order.
  const int64_t chunks = std::min<int64_t>(n, t * 8);
  std::atomic<int64_t> next{0};
  auto worker = [&] {
    for (int64_t c; (c = next.fetch_add(1)) < chunks;) fn(n * c / chunks, n * (c + 1) / chunks);
  };
  std::vector<std::thread> pool;
  for (int64_t i = 1; i < t; ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

std::vector<float> squared_distance_transform(const uint8_t* feature, const Grid& g,
                                              const std::array<double, 3>& spacing, int threads,
                                              const uint8_t* query) {
  const int64_t nz = g.shape[0], ny = g.shape[1], nx = g.shape[2];
  std::vector<float> d(size_t(g.count()));
  const float inf = std::numeric_limits<float>::infinity();
  const double sx = spacing[2];
  // Pass along x: distance to the nearest feature on the row by two scans (exact, in voxels).
  parallel_for(nz * ny, threads, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const uint8_t* f = feature + row * nx;
      float* out = d.data() + row * nx;
      int64_t last = -1;
      for (int64_t x = 0; x < nx; ++x) {
        if (f[x]) last = x;
        out[x] = last < 0 ? inf : float(double(x - last) * sx * double(x - last) * sx);
      }
      last = -1;
      for (int64_t x = nx - 1; x >= 0; --x) {
        if (f[x]) last = x;
        if (last >= 0) {
          const double dx = double(last - x) * sx;
          out[x] = std::min(out[x], float(dx * dx));
        }
      }
    }
  });
  // Lines needed: the z pass only for (y, x) columns holding a query voxel; the y pass only for
  // x positions of such columns (every z).
  std::vector<uint8_t> need_yx, need_zx;
  if (query) {
    need_yx.assign(size_t(ny * nx), 0);
    for (int64_t z = 0; z < nz; ++z)
      for (int64_t i = 0; i < ny * nx; ++i) need_yx[size_t(i)] |= query[z * ny * nx + i];
    std::vector<uint8_t> need_x(size_t(nx), 0);
    for (int64_t i = 0; i < ny * nx; ++i) need_x[size_t(i % nx)] |= need_yx[size_t(i)];
    need_zx.assign(size_t(nz * nx), 0);
    for (int64_t z = 0; z < nz; ++z)
      for (int64_t x = 0; x < nx; ++x)
        need_zx[size_t(z * nx + x)] = need_x[size_t(x)];
  }
  if (ny > 1) pass_strided(d, g, 1, spacing[1] * spacing[1], threads, need_zx);
  if (nz > 1) pass_strided(d, g, 0, spacing[0] * spacing[0], threads, need_yx);
  return d;
}

}  // namespace voxseg::metrics
