#include "voxseg/metrics/surface.h"

#include <algorithm>
#include <cmath>

namespace voxseg::metrics {
namespace {

// Cube corner c = dz*4 + dy*2 + dx sits at (x, y, z) = (dx, dy, dz).
std::array<double, 3> corner_xyz(int c) { return {double(c & 1), double((c >> 1) & 1), double((c >> 2) & 1)}; }

std::array<double, 3> sub(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  return {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
}
double cross_norm(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  const double x = a[1] * b[2] - a[2] * b[1], y = a[2] * b[0] - a[0] * b[2], z = a[0] * b[1] - a[1] * b[0];
  return std::sqrt(x * x + y * y + z * z);
}

// Area of the fan of triangles of polygon P started at vertex s.
double fan_area(const std::vector<std::array<double, 3>>& p, size_t s) {
  const size_t k = p.size();
  double area = 0;
  for (size_t i = 1; i + 1 < k; ++i)
    area += 0.5 * cross_norm(sub(p[(s + i) % k], p[s]), sub(p[(s + i + 1) % k], p[s]));
  return area;
}

// Marching-cubes surface of one neighbourhood code as closed loops of crossed cube edges (each edge
// is a pair of corners). On a face with two diagonal inside corners the minority class of the cube's
// corners is cut off (the outside ones when 4 are inside), which makes code and complement share a
// surface, as the classic tables (and DeepMind's) do.
std::vector<std::vector<std::pair<int, int>>> surface_loops(int code) {
  bool inside[8];
  int n_inside = 0;
  for (int c = 0; c < 8; ++c) n_inside += inside[c] = (code >> c) & 1;
  const bool cut_inside = n_inside < 4;
  using Edge = std::pair<int, int>;
  std::vector<std::pair<Edge, std::vector<Edge>>> adj;
  auto link = [&](Edge a, Edge b) {
    for (auto [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
      auto it = std::find_if(adj.begin(), adj.end(), [&](const auto& e) { return e.first == from; });
      if (it == adj.end()) adj.push_back({from, {to}});
      else it->second.push_back(to);
    }
  };
  for (int axis : {1, 2, 4}) {
    int u = axis == 1 ? 2 : 1, w = axis == 4 ? 2 : 4;
    for (int v : {0, axis}) {
      const int f[4] = {v, v | u, v | u | w, v | w};
      Edge e[4];
      int crossed = 0;
      for (int i = 0; i < 4; ++i) {
        e[i] = {std::min(f[i], f[(i + 1) % 4]), std::max(f[i], f[(i + 1) % 4])};
        crossed += inside[e[i].first] != inside[e[i].second];
      }
      if (crossed == 2) {
        std::vector<Edge> ce;
        for (auto& x : e)
          if (inside[x.first] != inside[x.second]) ce.push_back(x);
        link(ce[0], ce[1]);
      } else if (crossed == 4) {
        for (int i = 0; i < 4; ++i)
          if (inside[f[i]] == cut_inside) link(e[(i + 3) % 4], e[i]);
      }
    }
  }
  std::vector<std::vector<Edge>> loops;
  std::vector<Edge> seen;
  auto is_seen = [&](const Edge& e) { return std::find(seen.begin(), seen.end(), e) != seen.end(); };
  for (const auto& [start, _] : adj) {
    if (is_seen(start)) continue;
    std::vector<Edge> loop{start};
    seen.push_back(start);
    Edge cur = start;
    for (;;) {
      const auto& nb = std::find_if(adj.begin(), adj.end(), [&](const auto& e) { return e.first == cur; })->second;
      const Edge* next = nullptr;
      for (const auto& n : nb)
        if (!is_seen(n)) { next = &n; break; }
      if (!next) break;
      cur = *next;
      loop.push_back(cur);
      seen.push_back(cur);
    }
    loops.push_back(loop);
  }
  return loops;
}

}  // namespace

std::vector<uint8_t> boundary_voxels(const uint8_t* m, const Grid& g, bool planar, int threads) {
  const int64_t nz = g.shape[0], ny = g.shape[1], nx = g.shape[2];
  std::vector<uint8_t> out(size_t(g.count()), 0);
  parallel_for(nz, threads, [&](int64_t z0, int64_t z1) {
    for (int64_t z = z0; z < z1; ++z)
      for (int64_t y = 0; y < ny; ++y) {
        const int64_t row = (z * ny + y) * nx;
        for (int64_t x = 0; x < nx; ++x) {
          const int64_t i = row + x;
          if (!m[i]) continue;
          bool interior = x > 0 && m[i - 1] && x + 1 < nx && m[i + 1] && y > 0 && m[i - nx] && y + 1 < ny &&
                          m[i + nx];
          if (interior && !planar) interior = z > 0 && m[i - nx * ny] && z + 1 < nz && m[i + nx * ny];
          out[size_t(i)] = !interior;
        }
      }
  });
  return out;
}

std::vector<uint8_t> corner_codes(const uint8_t* m, const Grid& g, bool planar, Grid& cg, int threads) {
  const int64_t nz = g.shape[0], ny = g.shape[1], nx = g.shape[2];
  cg.shape = {planar ? nz : std::max<int64_t>(nz - 1, 0), std::max<int64_t>(ny - 1, 0), std::max<int64_t>(nx - 1, 0)};
  const int64_t cz = cg.shape[0], cy = cg.shape[1], cx = cg.shape[2];
  std::vector<uint8_t> out(size_t(cg.count()), 0);
  parallel_for(cz, threads, [&](int64_t z0, int64_t z1) {
    for (int64_t z = z0; z < z1; ++z)
      for (int64_t y = 0; y < cy; ++y) {
        const uint8_t* r00 = m + (z * ny + y) * nx;
        const uint8_t* r01 = r00 + nx;
        const uint8_t* r10 = planar ? nullptr : r00 + ny * nx;
        const uint8_t* r11 = planar ? nullptr : r01 + ny * nx;
        uint8_t* o = out.data() + (z * cy + y) * cx;
        for (int64_t x = 0; x < cx; ++x) {
          unsigned code = unsigned(r00[x] != 0) | unsigned(r00[x + 1] != 0) << 1 | unsigned(r01[x] != 0) << 2 |
                          unsigned(r01[x + 1] != 0) << 3;
          if (!planar)
            code |= unsigned(r10[x] != 0) << 4 | unsigned(r10[x + 1] != 0) << 5 | unsigned(r11[x] != 0) << 6 |
                    unsigned(r11[x + 1] != 0) << 7;
          o[x] = uint8_t(code);
        }
      }
  });
  return out;
}

std::array<double, 256> surfel_area_table(const std::array<double, 3>& spacing, bool planar) {
  std::array<double, 256> table{};
  const double sz = spacing[0], sy = spacing[1], sx = spacing[2];
  if (planar) {
    // Marching squares: bit dy*2 + dx; a corner cut off is half the voxel diagonal.
    const double diag = 0.5 * std::sqrt(sx * sx + sy * sy);
    for (int code = 1; code < 15; ++code) {
      const int n = __builtin_popcount(unsigned(code));
      if (n == 1 || n == 3) table[size_t(code)] = diag;
      else if (code == 0b0011 || code == 0b1100) table[size_t(code)] = sx;  // one row inside: a horizontal edge
      else if (code == 0b0101 || code == 0b1010) table[size_t(code)] = sy;
      else table[size_t(code)] = 2 * diag;  // diagonal pair
    }
    return table;
  }
  for (int code = 1; code < 255; ++code) {
    double total = 0;
    for (const auto& loop : surface_loops(code)) {
      // Vertices at edge midpoints; the polygon is fanned from the vertex giving the largest area on
      // the unit grid (the classic tables' choice), then measured with the real spacing.
      std::vector<std::array<double, 3>> unit, scaled;
      for (const auto& [a, b] : loop) {
        const auto pa = corner_xyz(a), pb = corner_xyz(b);
        const std::array<double, 3> mid{(pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2, (pa[2] + pb[2]) / 2};
        unit.push_back(mid);
        scaled.push_back({mid[0] * sx, mid[1] * sy, mid[2] * sz});
      }
      size_t best = 0;
      double best_area = -1;
      for (size_t s = 0; s < unit.size(); ++s) {
        const double a = fan_area(unit, s);
        if (a > best_area + 1e-12) best_area = a, best = s;
      }
      total += fan_area(scaled, best);
    }
    table[size_t(code)] = total;
  }
  return table;
}

}  // namespace voxseg::metrics
