#include "voxseg/metrics/report_qc_images.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "voxseg/metrics/png.h"

namespace voxseg::metrics {
namespace {

constexpr double kCropPixels = 200, kContextPixels = 120;  // longest side, in screen pixels

// The three volumes as flat z,y,x arrays.
struct Voxels {
  int64_t n[3];  // z, y, x
  const int32_t* pred;
  const int32_t* ref;
  const float* image;  // null without an image
};

// One view's pixel grid over a rectangle of a slice: rows along axis ra, columns along ca (array
// order z=0, y=1, x=2), physical aspect kept; coronal and sagittal rows run superior to inferior.
struct Grid {
  int ra = 1, ca = 2;
  bool flip_rows = false;
  int64_t r0 = 0, r1 = 0, c0 = 0, c1 = 0;  // inclusive voxel ranges
  int W = 1, H = 1;
  std::vector<int64_t> index;  // voxel per pixel

  int64_t rows() const { return r1 - r0 + 1; }
  int64_t cols() const { return c1 - c0 + 1; }
  // First pixel row / column showing voxel row r / column c (r and c may be one past the ends).
  int y_of(int64_t r) const {
    const int64_t k = flip_rows ? r1 - r : r - r0;
    return int(std::floor(double(k) * H / double(rows())));
  }
  int x_of(int64_t c) const { return int(std::floor(double(c - c0) * W / double(cols()))); }
};

Grid make_grid(const Voxels& v, int view, const std::array<int64_t, 3>& centre, const std::array<int64_t, 3>& lo,
               const std::array<int64_t, 3>& hi, const std::array<double, 3>& spacing_zyx, double max_px) {
  Grid g;
  g.ra = view == 0 ? 1 : 0, g.ca = view == 2 ? 1 : 2, g.flip_rows = view != 0;
  g.r0 = lo[size_t(g.ra)], g.r1 = hi[size_t(g.ra)], g.c0 = lo[size_t(g.ca)], g.c1 = hi[size_t(g.ca)];
  const double row_mm = spacing_zyx[size_t(g.ra)], col_mm = spacing_zyx[size_t(g.ca)];
  const double scale = max_px / std::max(double(g.rows()) * row_mm, double(g.cols()) * col_mm);
  g.H = std::max(1, int(std::lround(double(g.rows()) * row_mm * scale)));
  g.W = std::max(1, int(std::lround(double(g.cols()) * col_mm * scale)));
  g.index.resize(size_t(g.W) * size_t(g.H));
  for (int y = 0; y < g.H; ++y)
    for (int x = 0; x < g.W; ++x) {
      int64_t idx[3] = {centre[0], centre[1], centre[2]};
      int64_t rr = std::min<int64_t>(g.rows() - 1, int64_t(double(y) / g.H * double(g.rows())));
      if (g.flip_rows) rr = g.rows() - 1 - rr;
      idx[g.ra] = g.r0 + rr;
      idx[g.ca] = g.c0 + std::min<int64_t>(g.cols() - 1, int64_t(double(x) / g.W * double(g.cols())));
      g.index[size_t(y) * size_t(g.W) + size_t(x)] = (idx[0] * v.n[1] + idx[1]) * v.n[2] + idx[2];
    }
  return g;
}

uint8_t grey(const DisplayWindow& w, float value) {
  const double t = std::clamp((double(value) - w.lo()) / w.width, 0.0, 1.0);
  return uint8_t(std::lround(t * 255.0));
}

void put(std::vector<uint8_t>& rgb, size_t i, const Rgb& c) {
  std::copy(c.begin(), c.end(), rgb.begin() + std::ptrdiff_t(i * 3));
}

// The crop: image in the window, reference and prediction contours (pixels of a mask with a
// 4-neighbour outside it).
std::string crop_png(const Voxels& v, const Grid& g, const DisplayWindow& w, const std::vector<int32_t>& values) {
  auto in = [&](const int32_t* d, int64_t i) { return std::find(values.begin(), values.end(), d[i]) != values.end(); };
  const size_t npx = g.index.size();
  std::vector<uint8_t> mp(npx), mr(npx), rgb(npx * 3);
  for (size_t i = 0; i < npx; ++i) mp[i] = in(v.pred, g.index[i]), mr[i] = in(v.ref, g.index[i]);
  auto edge = [&](const std::vector<uint8_t>& m, int y, int x) {
    const size_t i = size_t(y) * size_t(g.W) + size_t(x);
    if (!m[i]) return false;
    return y == 0 || x == 0 || y == g.H - 1 || x == g.W - 1 || !m[i - size_t(g.W)] || !m[i + size_t(g.W)] ||
           !m[i - 1] || !m[i + 1];
  };
  for (int y = 0; y < g.H; ++y)
    for (int x = 0; x < g.W; ++x) {
      const size_t i = size_t(y) * size_t(g.W) + size_t(x);
      if (v.image) {
        const uint8_t k = grey(w, v.image[g.index[i]]);
        put(rgb, i, {k, k, k});
      } else {  // no image: the masks as dim red (prediction) and green (reference)
        put(rgb, i, {uint8_t(mp[i] ? 70 : 0), uint8_t(mr[i] ? 70 : 0), 0});
      }
      const bool er = edge(mr, y, x), ep = edge(mp, y, x);
      if (er && ep) put(rgb, i, kBothColour);
      else if (er) put(rgb, i, kReferenceColour);
      else if (ep) put(rgb, i, kPredictionColour);
    }
  return encode_png_rgb(rgb, g.W, g.H);
}

// The whole slice, small: image in the window, the reference region filled in its colour (half
// transparent), the crop's box in cyan.
std::string context_png(const Voxels& v, const Grid& g, const DisplayWindow& w, const std::vector<int32_t>& values,
                        const Rgb& colour, const Grid& crop) {
  const size_t npx = g.index.size();
  std::vector<uint8_t> rgb(npx * 3);
  for (size_t i = 0; i < npx; ++i) {
    const int64_t j = g.index[i];
    const uint8_t k = v.image ? grey(w, v.image[j]) : 0;
    Rgb px{k, k, k};
    if (std::find(values.begin(), values.end(), v.ref[j]) != values.end())
      for (size_t c = 0; c < 3; ++c) px[c] = uint8_t((int(px[c]) + int(colour[c])) / 2);
    put(rgb, i, px);
  }
  const int y0 = g.flip_rows ? g.y_of(crop.r1) : g.y_of(crop.r0);  // coronal/sagittal: top is the highest row
  const int y1 = (g.flip_rows ? g.y_of(crop.r0 - 1) : g.y_of(crop.r1 + 1)) - 1;
  const int x0 = g.x_of(crop.c0), x1 = g.x_of(crop.c1 + 1) - 1;
  auto clampx = [&](int x) { return std::clamp(x, 0, g.W - 1); };
  auto clampy = [&](int y) { return std::clamp(y, 0, g.H - 1); };
  for (int x = clampx(x0); x <= clampx(x1); ++x)
    for (int y : {clampy(y0), clampy(y1)}) put(rgb, size_t(y) * size_t(g.W) + size_t(x), kCropBoxColour);
  for (int y = clampy(y0); y <= clampy(y1); ++y)
    for (int x : {clampx(x0), clampx(x1)}) put(rgb, size_t(y) * size_t(g.W) + size_t(x), kCropBoxColour);
  return encode_png_rgb(rgb, g.W, g.H);
}

// Per axis, the slice through the region's box holding most of its voxels (reference or
// prediction); ties go to the slice with more reference voxels (a small lesion shifted by one slice
// in the prediction is then shown where the reference has it), then to the box's centre: a slice
// through the middle of two lesions shows neither.
std::array<int64_t, 3> largest_sections(const Voxels& v, const std::vector<int32_t>& values,
                                        const std::array<int64_t, 3>& lo, const std::array<int64_t, 3>& hi) {
  std::array<std::vector<int64_t>, 3> count, ref_count;
  for (size_t a = 0; a < 3; ++a) count[a].assign(size_t(hi[a] - lo[a] + 1), 0), ref_count[a] = count[a];
  auto in = [&](int32_t x) { return std::find(values.begin(), values.end(), x) != values.end(); };
  for (int64_t z = lo[0]; z <= hi[0]; ++z)
    for (int64_t y = lo[1]; y <= hi[1]; ++y)
      for (int64_t x = lo[2]; x <= hi[2]; ++x) {
        const int64_t i = (z * v.n[1] + y) * v.n[2] + x;
        if (!in(v.ref[i]) && !in(v.pred[i])) continue;
        ++count[0][size_t(z - lo[0])], ++count[1][size_t(y - lo[1])], ++count[2][size_t(x - lo[2])];
        if (in(v.ref[i]))
          ++ref_count[0][size_t(z - lo[0])], ++ref_count[1][size_t(y - lo[1])], ++ref_count[2][size_t(x - lo[2])];
      }
  std::array<int64_t, 3> best{};
  for (size_t a = 0; a < 3; ++a) {
    const int64_t mid = (hi[a] - lo[a]) / 2;
    int64_t k_best = mid;
    for (int64_t k = 0; k < int64_t(count[a].size()); ++k) {
      const auto key = [&](int64_t j) {  // larger is better
        return std::make_tuple(count[a][size_t(j)], ref_count[a][size_t(j)], -std::abs(j - mid));
      };
      if (key(k) > key(k_best)) k_best = k;
    }
    best[a] = lo[a] + k_best;
  }
  return best;
}

}  // namespace

Rgb default_label_colour(int64_t value) {
  // Distinct, saturated hues that are neither the contours' green/red/yellow nor the box's cyan.
  static const Rgb kPalette[] = {{230, 130, 40}, {150, 90, 200}, {60, 120, 220},  {200, 80, 150},
                                 {140, 100, 60}, {90, 170, 120}, {220, 120, 180}, {120, 120, 240}};
  const size_t n = sizeof(kPalette) / sizeof(kPalette[0]);
  return kPalette[size_t((value % int64_t(n) + int64_t(n)) % int64_t(n))];
}

std::vector<QcPanel> render_qc_panels(const Volume* image, const DisplayWindow& window, const Volume& pred,
                                      const Volume& ref, const std::vector<Region>& regions,
                                      const std::vector<RegionScores>& scores,
                                      const std::map<std::string, Rgb>& colours) {
  auto zyx = [](const at::Tensor& t) { return t.dim() == 4 ? t.select(0, 0) : t; };
  const at::Tensor p = zyx(pred.data).to(at::kInt).contiguous(), r = zyx(ref.data).to(at::kInt).contiguous();
  at::Tensor im;
  if (image) im = zyx(image->data).to(at::kFloat).contiguous();
  const Voxels v{{r.size(0), r.size(1), r.size(2)},
                 p.data_ptr<int32_t>(),
                 r.data_ptr<int32_t>(),
                 image ? im.data_ptr<float>() : nullptr};
  const auto& sp = ref.geometry.spacing;  // x, y, z
  const std::array<double, 3> spacing_zyx{sp[2], sp[1], sp[0]};
  const bool planar = ref.geometry.dims == 2;
  const std::array<int64_t, 3> whole_lo{0, 0, 0}, whole_hi{v.n[0] - 1, v.n[1] - 1, v.n[2] - 1};
  std::vector<QcPanel> out;
  for (size_t k = 0; k < regions.size() && k < scores.size(); ++k) {
    const auto& s = scores[k];
    if (s.bbox_hi[0] < s.bbox_lo[0]) continue;
    const std::vector<int32_t> values(regions[k].values.begin(), regions[k].values.end());
    std::array<int64_t, 3> lo{}, hi{};
    for (size_t a = 0; a < 3; ++a) {  // the crop: the region's box with a margin of half its size, at least 8 voxels
      const int64_t margin = std::max<int64_t>((s.bbox_hi[a] - s.bbox_lo[a] + 1) / 2, 8);
      lo[a] = std::max<int64_t>(0, s.bbox_lo[a] - margin);
      hi[a] = std::min<int64_t>(v.n[a] - 1, s.bbox_hi[a] + margin);
    }
    const std::array<int64_t, 3> c = largest_sections(v, values, s.bbox_lo, s.bbox_hi);
    const auto it = colours.find(s.name);
    const Rgb colour = it != colours.end() ? it->second : default_label_colour(values.empty() ? 0 : values.front());
    QcPanel panel;
    panel.region = s.name;
    for (int view = 0; view < (planar ? 1 : 3); ++view) {
      const Grid crop = make_grid(v, view, c, lo, hi, spacing_zyx, kCropPixels);
      const Grid whole = make_grid(v, view, c, whole_lo, whole_hi, spacing_zyx, kContextPixels);
      panel.png[size_t(view)] = crop_png(v, crop, window, values);
      panel.context[size_t(view)] = context_png(v, whole, window, values, colour, crop);
    }
    out.push_back(std::move(panel));
  }
  return out;
}

}  // namespace voxseg::metrics
