#include "voxseg/metrics/evaluate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>

#include "voxseg/core/error.h"
#include "voxseg/core/percentile.h"
#include "voxseg/metrics/edt.h"
#include "voxseg/metrics/surface.h"

namespace voxseg::metrics {
namespace {

constexpr int64_t kMaxLabelValue = int64_t(1) << 24;

// Label value -> regions containing it (dense table over 0..max value).
class RegionLookup {
 public:
  explicit RegionLookup(const std::vector<Region>& regions) {
    int64_t max_value = 0;
    for (const auto& r : regions)
      for (int64_t v : r.values) {
        if (v <= 0 || v > kMaxLabelValue)
          fail(ExitCode::Usage, "label value {} of '{}' is out of range (1..{})", v, r.name, kMaxLabelValue);
        max_value = std::max(max_value, v);
      }
    std::vector<std::vector<int32_t>> lists(size_t(max_value + 1));
    for (size_t i = 0; i < regions.size(); ++i)
      for (int64_t v : regions[i].values)
        if (std::find(lists[size_t(v)].begin(), lists[size_t(v)].end(), int32_t(i)) == lists[size_t(v)].end())
          lists[size_t(v)].push_back(int32_t(i));
    begin_.assign(lists.size() + 1, 0);
    for (size_t v = 0; v < lists.size(); ++v) {
      begin_[v + 1] = begin_[v] + int32_t(lists[v].size());
      ids_.insert(ids_.end(), lists[v].begin(), lists[v].end());
    }
  }
  // [first, last) of region ids for value v.
  std::pair<const int32_t*, const int32_t*> of(int64_t v) const {
    if (v <= 0 || v + 1 >= int64_t(begin_.size())) return {nullptr, nullptr};
    return {ids_.data() + begin_[size_t(v)], ids_.data() + begin_[size_t(v) + 1]};
  }

 private:
  std::vector<int32_t> begin_, ids_;
};

struct Accum {
  int64_t n_pred = 0, n_ref = 0, n_both = 0;
  std::array<int64_t, 3> lo{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::max()};
  std::array<int64_t, 3> hi{-1, -1, -1};
  void extend(int64_t z, int64_t y, int64_t x) {
    lo[0] = std::min(lo[0], z), hi[0] = std::max(hi[0], z);
    lo[1] = std::min(lo[1], y), hi[1] = std::max(hi[1], y);
    lo[2] = std::min(lo[2], x), hi[2] = std::max(hi[2], x);
  }
  void merge(const Accum& o) {
    n_pred += o.n_pred, n_ref += o.n_ref, n_both += o.n_both;
    for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], o.lo[a]), hi[a] = std::max(hi[a], o.hi[a]);
  }
};

std::array<int64_t, 3> shape_zyx(const at::Tensor& t) { return {t.size(0), t.size(1), t.size(2)}; }

// Both label maps as contiguous tensors of one integer type (uint8, int16 or int32).
std::pair<at::Tensor, at::Tensor> common_label_type(const at::Tensor& a, const at::Tensor& b) {
  auto as_int = [](const at::Tensor& t) { return t.is_floating_point() ? t.round().to(at::kInt) : t; };
  at::Tensor x = as_int(a), y = as_int(b);
  at::ScalarType type = at::kInt;
  if (x.scalar_type() == at::kByte && y.scalar_type() == at::kByte) type = at::kByte;
  else if ((x.scalar_type() == at::kByte || x.scalar_type() == at::kShort || x.scalar_type() == at::kChar) &&
           (y.scalar_type() == at::kByte || y.scalar_type() == at::kShort || y.scalar_type() == at::kChar))
    type = at::kShort;
  return {x.to(type).contiguous(), y.to(type).contiguous()};
}

template <typename T>
std::vector<Accum> count_pass(const T* p, const T* r, const std::array<int64_t, 3>& s, const RegionLookup& lookup,
                              size_t n_regions, int threads) {
  std::vector<Accum> total(n_regions);
  std::mutex mutex;
  const int64_t ny = s[1], nx = s[2];
  parallel_for(s[0] * ny, threads, [&](int64_t row0, int64_t row1) {
    std::vector<Accum> acc(n_regions);
    for (int64_t row = row0; row < row1; ++row) {
      const int64_t z = row / ny, y = row % ny, base = row * nx;
      for (int64_t x = 0; x < nx; ++x) {
        const T pv = p[base + x], rv = r[base + x];
        if (pv == 0 && rv == 0) continue;
        const auto [pb, pe] = lookup.of(int64_t(pv));
        if (pv == rv) {
          for (auto it = pb; it != pe; ++it) {
            Accum& a = acc[size_t(*it)];
            ++a.n_pred, ++a.n_ref, ++a.n_both;
            a.extend(z, y, x);
          }
          continue;
        }
        const auto [rb, re] = lookup.of(int64_t(rv));
        for (auto it = pb; it != pe; ++it) {
          Accum& a = acc[size_t(*it)];
          ++a.n_pred;
          a.extend(z, y, x);
          if (std::find(rb, re, *it) != re) ++a.n_both;  // a merged region holding both values
        }
        for (auto it = rb; it != re; ++it) {
          Accum& a = acc[size_t(*it)];
          ++a.n_ref;
          a.extend(z, y, x);
        }
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    for (size_t i = 0; i < n_regions; ++i) total[i].merge(acc[i]);
  });
  return total;
}

// Binary masks of one region cropped to [lo - 1, hi + 1] (margin of background on every used axis).
template <typename T>
void crop_masks(const T* p, const T* r, const std::array<int64_t, 3>& s, const Region& region, const Accum& box,
                bool planar, Grid& g, std::vector<uint8_t>& a, std::vector<uint8_t>& b, int threads) {
  const int64_t mz = planar ? 0 : 1;
  g.shape = {box.hi[0] - box.lo[0] + 1 + 2 * mz, box.hi[1] - box.lo[1] + 3, box.hi[2] - box.lo[2] + 3};
  a.assign(size_t(g.count()), 0);
  b.assign(size_t(g.count()), 0);
  const int64_t max_v = *std::max_element(region.values.begin(), region.values.end());
  std::vector<uint8_t> in(size_t(max_v + 1), 0);
  for (int64_t v : region.values) in[size_t(v)] = 1;
  auto member = [&](T v) { return int64_t(v) > 0 && int64_t(v) <= max_v && in[size_t(v)]; };
  parallel_for(box.hi[0] - box.lo[0] + 1, threads, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t y = box.lo[1]; y <= box.hi[1]; ++y) {
        const int64_t src = ((box.lo[0] + k) * s[1] + y) * s[2];
        const int64_t dst = ((k + mz) * g.shape[1] + (y - box.lo[1] + 1)) * g.shape[2] + 1 - box.lo[2];
        for (int64_t x = box.lo[2]; x <= box.hi[2]; ++x) {
          a[size_t(dst + x)] = member(p[src + x]);
          b[size_t(dst + x)] = member(r[src + x]);
        }
      }
  });
}

DirectedDistances directed(const std::vector<uint8_t>& from_surface, const std::vector<float>& to_sq_dist,
                           const std::vector<uint8_t>* codes, const std::array<double, 256>* areas) {
  std::vector<std::pair<double, double>> pairs;
  for (size_t i = 0; i < from_surface.size(); ++i)
    if (from_surface[i])
      // The distance map is single precision: snap to 1e-6 mm so 2 x 0.8 mm reads 1.6, not 1.600000057.
      pairs.emplace_back(std::round(std::sqrt(double(to_sq_dist[i])) * 1e6) / 1e6, codes ? (*areas)[(*codes)[i]] : 1.0);
  std::sort(pairs.begin(), pairs.end());
  DirectedDistances d;
  d.distance_mm.reserve(pairs.size());
  d.weight.reserve(pairs.size());
  for (const auto& [dist, w] : pairs) d.distance_mm.push_back(dist), d.weight.push_back(w);
  return d;
}

double weighted_mean(const DirectedDistances& d) {
  double s = 0, w = 0;
  for (size_t i = 0; i < d.distance_mm.size(); ++i) s += d.distance_mm[i] * d.weight[i], w += d.weight[i];
  return s / w;
}

DirectedDistances pooled(const DirectedDistances& a, const DirectedDistances& b) {
  std::vector<std::pair<double, double>> pairs;
  for (size_t i = 0; i < a.distance_mm.size(); ++i) pairs.emplace_back(a.distance_mm[i], a.weight[i]);
  for (size_t i = 0; i < b.distance_mm.size(); ++i) pairs.emplace_back(b.distance_mm[i], b.weight[i]);
  std::sort(pairs.begin(), pairs.end());
  DirectedDistances d;
  for (const auto& [dist, w] : pairs) d.distance_mm.push_back(dist), d.weight.push_back(w);
  return d;
}

double tolerance_for(const Region& region, const MetricOptions& o) {
  if (auto it = o.tolerance_by_region.find(region.name); it != o.tolerance_by_region.end()) return it->second;
  if (region.values.size() == 1)
    if (auto it = o.tolerance_by_region.find(std::to_string(region.values[0])); it != o.tolerance_by_region.end())
      return it->second;
  return o.tolerance_mm;
}

void surface_scores(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, const Grid& g,
                    const std::array<double, 3>& spacing, bool planar, const MetricOptions& o, RegionScores& s) {
  DirectedDistances pr, rp;  // pred -> ref, ref -> pred
  if (o.surface == SurfaceMode::Voxels) {
    const auto sa = boundary_voxels(a.data(), g, planar, o.threads), sb = boundary_voxels(b.data(), g, planar, o.threads);
    pr = directed(sa, squared_distance_transform(sb.data(), g, spacing, o.threads, sa.data()), nullptr, nullptr);
    rp = directed(sb, squared_distance_transform(sa.data(), g, spacing, o.threads, sb.data()), nullptr, nullptr);
  } else {
    Grid cg;
    const auto ca = corner_codes(a.data(), g, planar, cg, o.threads), cb = corner_codes(b.data(), g, planar, cg, o.threads);
    const uint8_t full = planar ? 0x0F : 0xFF;
    std::vector<uint8_t> sa(ca.size()), sb(cb.size());
    for (size_t i = 0; i < ca.size(); ++i) sa[i] = ca[i] != 0 && ca[i] != full, sb[i] = cb[i] != 0 && cb[i] != full;
    const auto areas = surfel_area_table(spacing, planar);
    pr = directed(sa, squared_distance_transform(sb.data(), cg, spacing, o.threads, sa.data()), &ca, &areas);
    rp = directed(sb, squared_distance_transform(sa.data(), cg, spacing, o.threads, sb.data()), &cb, &areas);
  }
  if (pr.distance_mm.empty() || rp.distance_mm.empty()) return;  // cannot happen for non-empty masks
  s.hd = std::max(pr.distance_mm.back(), rp.distance_mm.back());
  const bool voxels = o.surface == SurfaceMode::Voxels;
  auto p95 = [&](const DirectedDistances& d) {
    return voxels ? percentile_linear(d.distance_mm, 0.95) : percentile_weighted(d, 0.95);
  };
  s.hd95 = o.hd95 == Hd95Mode::Pooled ? p95(pooled(pr, rp)) : std::max(p95(pr), p95(rp));
  s.asd_pred_to_ref = weighted_mean(pr);
  s.asd_ref_to_pred = weighted_mean(rp);
  if (voxels) {
    const double sum = std::accumulate(pr.distance_mm.begin(), pr.distance_mm.end(), 0.0) +
                       std::accumulate(rp.distance_mm.begin(), rp.distance_mm.end(), 0.0);
    s.assd = sum / double(pr.distance_mm.size() + rp.distance_mm.size());
  } else {
    s.assd = 0.5 * (*s.asd_pred_to_ref + *s.asd_ref_to_pred);
  }
  // Distances are stored in single precision: a relative 1e-6 slack keeps d == tolerance inside.
  const double tol = s.tolerance_mm * (1 + 1e-6);
  double within = 0, total = 0;
  for (const auto* d : {&pr, &rp})
    for (size_t i = 0; i < d->distance_mm.size(); ++i) {
      total += d->weight[i];
      if (d->distance_mm[i] <= tol) within += d->weight[i];
    }
  s.nsd = within / total;
}

template <typename T>
std::vector<RegionScores> evaluate_typed(const at::Tensor& pt, const at::Tensor& rt, const Geometry& geo,
                                         const std::vector<Region>& regions, const MetricOptions& o,
                                         Progress& progress) {
  const auto s = shape_zyx(pt);
  const T* p = pt.data_ptr<T>();
  const T* r = rt.data_ptr<T>();
  const RegionLookup lookup(regions);
  progress.set_total(int64_t(regions.size()) + 1);
  const auto acc = count_pass<T>(p, r, s, lookup, regions.size(), o.threads);
  progress.advance();
  const bool planar = geo.dims == 2;
  const std::array<double, 3> spacing{planar ? 1.0 : geo.spacing[2], geo.spacing[1], geo.spacing[0]};
  const double ml_per_voxel = geo.voxel_volume_mm3() / 1000.0;
  const int64_t n = s[0] * s[1] * s[2];
  std::vector<RegionScores> out;
  for (size_t i = 0; i < regions.size(); ++i, progress.advance()) {
    const Accum& a = acc[i];
    RegionScores sc;
    sc.name = regions[i].name;
    sc.values = regions[i].values;
    sc.tolerance_mm = tolerance_for(regions[i], o);
    sc.bbox_lo = a.lo, sc.bbox_hi = a.hi;
    sc.tp = a.n_both, sc.fp = a.n_pred - a.n_both, sc.fn = a.n_ref - a.n_both;
    sc.tn = n - a.n_pred - a.n_ref + a.n_both;
    sc.pred_ml = double(a.n_pred) * ml_per_voxel;
    sc.ref_ml = double(a.n_ref) * ml_per_voxel;
    if (sc.tn + sc.fp > 0) sc.specificity = double(sc.tn) / double(sc.tn + sc.fp);
    if (a.n_pred == 0 && a.n_ref == 0) {
      sc.flag = "absent";
      out.push_back(sc);
      continue;
    }
    const double tp = double(sc.tp);
    sc.dice = 2 * tp / double(a.n_pred + a.n_ref);
    sc.iou = tp / double(a.n_pred + a.n_ref - a.n_both);
    if (a.n_pred > 0) sc.precision = tp / double(a.n_pred);
    if (a.n_ref > 0) sc.recall = tp / double(a.n_ref);
    if (a.n_pred == 0 || a.n_ref == 0) {
      sc.flag = a.n_pred == 0 ? "missing" : "spurious";
      if (o.surface_metrics) sc.nsd = 0.0;  // no surface within tolerance (MONAI, DeepMind)
      out.push_back(sc);
      continue;
    }
    if (o.surface_metrics) {
      Grid g;
      std::vector<uint8_t> ma, mb;
      crop_masks<T>(p, r, s, regions[i], a, planar, g, ma, mb, o.threads);
      surface_scores(ma, mb, g, spacing, planar, o, sc);
    }
    out.push_back(sc);
  }
  return out;
}

at::Tensor as_zyx(const Volume& v, const char* what) {
  if (v.has_channels() && v.channels() != 1)
    fail(ExitCode::BadInput, "{} label map has {} channels; expected one", what, v.channels());
  at::Tensor t = v.data;
  if (t.dim() == 4) t = t.select(0, 0);
  if (t.dim() == 2) t = t.unsqueeze(0);
  if (t.dim() != 3) fail(ExitCode::BadInput, "{} label map has {} dimensions; expected 2D or 3D", what, t.dim());
  return t;
}

std::optional<double> opt_diff(double a, double b) { return a - b; }

}  // namespace

double percentile_linear(const std::vector<double>& v, double q) { return percentile_sorted(v, q); }

double percentile_weighted(const DirectedDistances& d, double q) {
  if (d.distance_mm.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double total = std::accumulate(d.weight.begin(), d.weight.end(), 0.0);
  double cum = 0;
  for (size_t i = 0; i < d.weight.size(); ++i) {
    cum += d.weight[i];
    if (cum / total >= q) return d.distance_mm[i];
  }
  return d.distance_mm.back();
}

std::vector<RegionScores> evaluate_regions(const Volume& pred, const Volume& ref, const std::vector<Region>& regions,
                                           const MetricOptions& options, Progress progress) {
  const at::Tensor p = as_zyx(pred, "prediction"), r = as_zyx(ref, "reference");
  if (p.sizes() != r.sizes())
    fail(ExitCode::BadInput, "prediction and reference grids differ ({} vs {} voxels)", p.numel(), r.numel());
  for (const auto& region : regions)
    if (region.values.empty()) fail(ExitCode::Usage, "region '{}' has no label values", region.name);
  auto [pt, rt] = common_label_type(p, r);
  switch (pt.scalar_type()) {
    case at::kByte: return evaluate_typed<uint8_t>(pt, rt, ref.geometry, regions, options, progress);
    case at::kShort: return evaluate_typed<int16_t>(pt, rt, ref.geometry, regions, options, progress);
    default: return evaluate_typed<int32_t>(pt, rt, ref.geometry, regions, options, progress);
  }
}

std::vector<int64_t> present_labels(const Volume& a, const Volume& b) {
  std::vector<uint8_t> seen;  // dense flags for values below 2^20
  std::vector<int64_t> big;
  auto scan = [&](const auto* d, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t x = int64_t(d[i]);
      if (x <= 0) continue;
      if (x < (1 << 20)) {
        if (size_t(x) >= seen.size()) seen.resize(size_t(x) + 1, 0);
        seen[size_t(x)] = 1;
      } else {
        big.push_back(x);
      }
    }
  };
  for (const Volume* v : {&a, &b}) {
    at::Tensor t = v->data.contiguous();
    switch (t.scalar_type()) {  // no widening copies of CT-sized label maps
      case at::kByte: scan(t.data_ptr<uint8_t>(), t.numel()); break;
      case at::kShort: scan(t.data_ptr<int16_t>(), t.numel()); break;
      case at::kInt: scan(t.data_ptr<int32_t>(), t.numel()); break;
      default: {
        const at::Tensor l = (t.is_floating_point() ? t.round() : t).to(at::kLong).contiguous();
        scan(l.data_ptr<int64_t>(), l.numel());
      }
    }
  }
  std::vector<int64_t> out;
  for (size_t x = 1; x < seen.size(); ++x)
    if (seen[x]) out.push_back(int64_t(x));
  std::sort(big.begin(), big.end());
  big.erase(std::unique(big.begin(), big.end()), big.end());
  out.insert(out.end(), big.begin(), big.end());
  return out;
}

const std::vector<std::string>& metric_names(bool surface_metrics) {
  static const std::vector<std::string> overlap{"dice", "iou", "precision", "recall", "specificity",
                                                "pred_ml", "ref_ml", "diff_ml"};
  static const std::vector<std::string> all = [] {
    auto v = overlap;
    for (const char* m : {"hd", "hd95", "assd", "nsd"}) v.push_back(m);
    return v;
  }();
  return surface_metrics ? all : overlap;
}

std::optional<double> metric_value(const RegionScores& s, const std::string& name) {
  if (s.flag == "absent") return std::nullopt;
  if (name == "dice") return s.dice;
  if (name == "iou") return s.iou;
  if (name == "precision") return s.precision;
  if (name == "recall") return s.recall;
  if (name == "specificity") return s.specificity;
  if (name == "pred_ml") return s.pred_ml;
  if (name == "ref_ml") return s.ref_ml;
  if (name == "diff_ml") return opt_diff(s.pred_ml, s.ref_ml);
  if (name == "hd") return s.hd;
  if (name == "hd95") return s.hd95;
  if (name == "assd") return s.assd;
  if (name == "asd_pred_to_ref") return s.asd_pred_to_ref;
  if (name == "asd_ref_to_pred") return s.asd_ref_to_pred;
  if (name == "nsd") return s.nsd;
  return std::nullopt;
}

Json to_json(const RegionScores& s) {
  Json j = Json::object();
  j["label"] = s.name;
  Json values = Json::array();
  for (int64_t v : s.values) values.push_back(Json(v));
  j["values"] = values;
  j["flag"] = s.flag.empty() ? Json() : Json(s.flag);
  for (const auto& name : metric_names(true)) {
    const auto v = metric_value(s, name);
    j[name] = v ? Json(*v) : Json();
  }
  for (const char* name : {"asd_pred_to_ref", "asd_ref_to_pred"}) {
    const auto v = metric_value(s, name);
    j[name] = v ? Json(*v) : Json();
  }
  j["tolerance_mm"] = s.tolerance_mm;
  j["tp"] = s.tp, j["fp"] = s.fp, j["fn"] = s.fn, j["tn"] = s.tn;
  return j;
}

Json describe_conventions(const MetricOptions& o) {
  Json j = Json::object();
  const bool voxels = o.surface == SurfaceMode::Voxels;
  j["surface"] = voxels ? "voxels" : "surfels";
  j["hd95"] = o.hd95 == Hd95Mode::Pooled ? "pooled" : "max-of-directed";
  j["matches"] = voxels ? (o.hd95 == Hd95Mode::Pooled ? "medpy (hd95, hd); MONAI for assd, nsd" : "MONAI")
                        : (o.hd95 == Hd95Mode::Pooled ? "DeepMind surface-distance, hd95 pooled" : "DeepMind surface-distance");
  j["surface_points"] = voxels ? "boundary voxel centres: mask minus its erosion by the 6-connected cross "
                                 "(4-connected in 2D), outside the image is background"
                               : "surfels at voxel corners (grid shifted by half a voxel), marching-cubes "
                                 "areas from 2x2x2 neighbourhood codes with the voxel spacing";
  j["hd"] = "max of both directed maximum distances";
  j["hd95_rule"] = o.hd95 == Hd95Mode::Pooled
                       ? (voxels ? "95th percentile (linear, np.percentile) of both directions' distances pooled"
                                 : "area-weighted 95th percentile of both directions pooled")
                       : (voxels ? "max of the two directed 95th percentiles (linear, torch.quantile)"
                                 : "max of the two directed area-weighted 95th percentiles (first distance whose "
                                   "cumulative area fraction reaches 0.95)");
  j["assd"] = voxels ? "mean of both directions' distances pooled"
                     : "mean of the two directed area-weighted average distances";
  j["nsd"] = voxels ? "fraction of both surfaces' voxels within tolerance of the other surface"
                    : "fraction of both surfaces' area within tolerance of the other surface";
  j["tolerance_mm"] = o.tolerance_mm;
  if (!o.tolerance_by_region.empty()) {
    Json t = Json::object();
    for (const auto& [k, v] : o.tolerance_by_region) t[k] = v;
    j["tolerance_by_label_mm"] = t;
  }
  j["distances"] = "mm between points, with the voxel spacing; the direction matrix is orthonormal so it does "
                   "not change distances";
  j["empty_masks"] = "absent from both: all null, left out of means; absent from one: dice/iou 0, nsd 0, "
                     "hd/hd95/assd null with flag 'missing' (only in reference) or 'spurious' (only in prediction)";
  return j;
}

}  // namespace voxseg::metrics
