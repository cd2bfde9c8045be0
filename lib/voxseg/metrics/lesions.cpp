#include "voxseg/metrics/lesions.h"

#include <ATen/ops/zeros.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "voxseg/core/error.h"
#include "voxseg/postprocess/components.h"

namespace voxseg::metrics {
namespace {

Json opt(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

at::Tensor zyx_long(const Volume& v, const char* what) {
  at::Tensor t = v.data;
  if (t.dim() == 4) {
    if (t.size(0) != 1) fail(ExitCode::BadInput, "{} label map has {} channels; expected one", what, t.size(0));
    t = t.select(0, 0);
  }
  if (t.dim() == 2) t = t.unsqueeze(0);
  if (t.dim() != 3) fail(ExitCode::BadInput, "{} label map has {} dimensions; expected 2D or 3D", what, t.dim());
  return (t.is_floating_point() ? t.round() : t).to(at::kLong).contiguous();
}

at::Tensor region_mask(const at::Tensor& labels, const std::vector<int64_t>& values) {
  at::Tensor m = at::zeros(labels.sizes(), at::kByte);
  const int64_t* l = labels.data_ptr<int64_t>();
  uint8_t* d = m.data_ptr<uint8_t>();
  for (int64_t i = 0, n = labels.numel(); i < n; ++i)
    d[i] = std::find(values.begin(), values.end(), l[i]) != values.end();
  return m;
}

struct Box {
  std::array<int64_t, 3> lo{INT64_MAX, INT64_MAX, INT64_MAX}, hi{-1, -1, -1};  // z y x, inclusive
  void add(int64_t z, int64_t y, int64_t x) {
    lo = {std::min(lo[0], z), std::min(lo[1], y), std::min(lo[2], x)};
    hi = {std::max(hi[0], z), std::max(hi[1], y), std::max(hi[2], x)};
  }
  void add(const Box& b) { add(b.lo[0], b.lo[1], b.lo[2]), add(b.hi[0], b.hi[1], b.hi[2]); }
};

// Components of one side with sizes, boxes and a keep flag (volume >= min_ml).
struct Side {
  std::vector<int32_t> ids;  // per voxel, 0 or component number
  std::vector<int64_t> voxels;
  std::vector<Box> box;
  std::vector<char> keep;
};

Side components(const at::Tensor& mask, int connectivity, double voxel_ml, double min_ml,
                const std::array<int64_t, 3>& shape) {
  const auto c = postprocess::connected_components(mask, connectivity);
  Side s;
  const at::Tensor ids = c.ids.contiguous();
  s.ids.assign(ids.data_ptr<int32_t>(), ids.data_ptr<int32_t>() + ids.numel());
  s.voxels = c.voxels;
  s.box.resize(size_t(c.count()) + 1);
  s.keep.resize(size_t(c.count()) + 1, 0);
  for (int64_t k = 1; k <= c.count(); ++k) s.keep[size_t(k)] = double(s.voxels[size_t(k - 1)]) * voxel_ml >= min_ml;
  for (int64_t z = 0, i = 0; z < shape[0]; ++z)
    for (int64_t y = 0; y < shape[1]; ++y)
      for (int64_t x = 0; x < shape[2]; ++x, ++i)
        if (s.ids[size_t(i)]) s.box[size_t(s.ids[size_t(i)])].add(z, y, x);
  return s;
}

// Dice and HD95 of reference component `r` against the union of predicted components `ps`,
// scored by evaluate_regions on a crop one voxel larger than both (the same surfaces as the full grid).
std::pair<double, std::optional<double>> score_pair(const Side& ref, int64_t r, const Side& pred,
                                                    const std::vector<int64_t>& ps, const Volume& grid_of,
                                                    const std::array<int64_t, 3>& shape, const MetricOptions& mo) {
  Box b = ref.box[size_t(r)];
  for (int64_t p : ps) b.add(pred.box[size_t(p)]);
  std::array<int64_t, 3> lo{}, n{};
  for (int a = 0; a < 3; ++a) {
    lo[size_t(a)] = std::max<int64_t>(0, b.lo[size_t(a)] - 1);
    n[size_t(a)] = std::min(shape[size_t(a)] - 1, b.hi[size_t(a)] + 1) - lo[size_t(a)] + 1;
  }
  Volume vp, vr;
  vp.geometry = vr.geometry = grid_of.geometry;
  vp.geometry.size = vr.geometry.size = {n[2], n[1], n[0]};
  vp.data = at::zeros({n[0], n[1], n[2]}, at::kByte);
  vr.data = at::zeros({n[0], n[1], n[2]}, at::kByte);
  uint8_t* dp = vp.data.data_ptr<uint8_t>();
  uint8_t* dr = vr.data.data_ptr<uint8_t>();
  const std::set<int64_t> pset(ps.begin(), ps.end());
  for (int64_t z = 0, j = 0; z < n[0]; ++z)
    for (int64_t y = 0; y < n[1]; ++y)
      for (int64_t x = 0; x < n[2]; ++x, ++j) {
        const size_t i = size_t(((z + lo[0]) * shape[1] + y + lo[1]) * shape[2] + x + lo[2]);
        dr[j] = ref.ids[i] == r;
        dp[j] = pred.ids[i] != 0 && pset.count(pred.ids[i]);
      }
  MetricOptions o = mo;
  o.tolerance_by_region.clear();
  const auto s = evaluate_regions(vp, vr, {Region{"lesion", {1}}}, o);
  return {s[0].dice.value_or(0.0), s[0].hd95};
}

}  // namespace

LesionScores evaluate_lesions(const Volume& pred, const Volume& ref, const Region& region, const LesionOptions& lo,
                              const MetricOptions& mo) {
  const at::Tensor pl = zyx_long(pred, "prediction"), rl = zyx_long(ref, "reference");
  if (pl.sizes() != rl.sizes())
    fail(ExitCode::BadInput, "prediction and reference grids differ ({} vs {} voxels)", pl.numel(), rl.numel());
  const std::array<int64_t, 3> shape{rl.size(0), rl.size(1), rl.size(2)};
  const Geometry& g = ref.geometry;
  const double voxel_ml = g.voxel_volume_mm3() / 1000.0;
  LesionScores s;
  s.name = region.name;
  s.values = region.values;
  s.penalty_mm = std::sqrt(std::pow(double(g.size[0]) * g.spacing[0], 2) + std::pow(double(g.size[1]) * g.spacing[1], 2) +
                           (g.dims == 2 ? 0.0 : std::pow(double(g.size[2]) * g.spacing[2], 2)));
  const Side R = components(region_mask(rl, region.values), lo.connectivity, voxel_ml, lo.min_ml, shape);
  const Side P = components(region_mask(pl, region.values), lo.connectivity, voxel_ml, lo.min_ml, shape);
  const int64_t nr = int64_t(R.voxels.size()), np = int64_t(P.voxels.size());

  // Overlap counts of kept pairs (plain, undilated).
  std::map<std::pair<int64_t, int64_t>, int64_t> inter;  // (ref, pred) -> voxels
  for (size_t i = 0; i < R.ids.size(); ++i)
    if (R.ids[i] && P.ids[i] && R.keep[size_t(R.ids[i])] && P.keep[size_t(P.ids[i])]) ++inter[{R.ids[i], P.ids[i]}];

  // Matches: (ref, pred) pairs.
  std::set<std::pair<int64_t, int64_t>> match;
  if (lo.iou) {
    for (const auto& [k, v] : inter) {
      const double u = double(R.voxels[size_t(k.first - 1)] + P.voxels[size_t(k.second - 1)] - v);
      if (double(v) / u > *lo.iou) match.insert(k);
    }
  } else if (lo.dilate <= 0) {
    for (const auto& [k, v] : inter) match.insert(k);
  } else {  // each reference lesion dilated on its own (lesions may claim the same component)
    const int64_t d = lo.dilate;
    const bool planar = shape[0] == 1;
    for (int64_t r = 1; r <= nr; ++r) {
      if (!R.keep[size_t(r)]) continue;
      std::array<int64_t, 3> a{}, n{};
      for (int k = 0; k < 3; ++k) {
        const int64_t m = (k == 0 && planar) ? 0 : d;
        a[size_t(k)] = std::max<int64_t>(0, R.box[size_t(r)].lo[size_t(k)] - m);
        n[size_t(k)] = std::min(shape[size_t(k)] - 1, R.box[size_t(r)].hi[size_t(k)] + m) - a[size_t(k)] + 1;
      }
      auto at_full = [&](int64_t z, int64_t y, int64_t x) {
        return size_t(((z + a[0]) * shape[1] + y + a[1]) * shape[2] + x + a[2]);
      };
      std::vector<uint8_t> m(size_t(n[0] * n[1] * n[2]));
      for (int64_t z = 0, j = 0; z < n[0]; ++z)
        for (int64_t y = 0; y < n[1]; ++y)
          for (int64_t x = 0; x < n[2]; ++x, ++j) m[size_t(j)] = R.ids[at_full(z, y, x)] == r;
      for (int64_t it = 0; it < d; ++it) {  // one step of the 18-neighbourhood (scipy structure (3, 2))
        std::vector<uint8_t> next = m;
        for (int64_t z = 0, j = 0; z < n[0]; ++z)
          for (int64_t y = 0; y < n[1]; ++y)
            for (int64_t x = 0; x < n[2]; ++x, ++j) {
              if (m[size_t(j)]) continue;
              for (int64_t dz = -1; dz <= 1 && !next[size_t(j)]; ++dz)
                for (int64_t dy = -1; dy <= 1; ++dy)
                  for (int64_t dx = -1; dx <= 1; ++dx) {
                    const int64_t zz = z + dz, yy = y + dy, xx = x + dx;
                    if (std::abs(dz) + std::abs(dy) + std::abs(dx) > 2 || zz < 0 || yy < 0 || xx < 0 || zz >= n[0] ||
                        yy >= n[1] || xx >= n[2])
                      continue;
                    if (m[size_t((zz * n[1] + yy) * n[2] + xx)]) next[size_t(j)] = 1;
                  }
            }
        m.swap(next);
      }
      for (int64_t z = 0, j = 0; z < n[0]; ++z)
        for (int64_t y = 0; y < n[1]; ++y)
          for (int64_t x = 0; x < n[2]; ++x, ++j) {
            const int32_t p = P.ids[at_full(z, y, x)];
            if (m[size_t(j)] && p && P.keep[size_t(p)]) match.insert({r, p});
          }
    }
  }

  auto centre = [](const Box& b) {
    return std::array<int64_t, 3>{(b.lo[2] + b.hi[2]) / 2, (b.lo[1] + b.hi[1]) / 2, (b.lo[0] + b.hi[0]) / 2};
  };
  std::vector<double> dice, hd;
  std::vector<char> ref_touched(size_t(nr) + 1, 0), pred_touched(size_t(np) + 1, 0);
  for (const auto& [k, v] : inter) ref_touched[size_t(k.first)] = pred_touched[size_t(k.second)] = 1;
  for (int64_t r = 1; r <= nr; ++r) {
    if (!R.keep[size_t(r)]) {
      ++s.ignored_ref;
      continue;
    }
    Lesion l;
    l.side = "ref", l.id = r, l.volume_ml = double(R.voxels[size_t(r - 1)]) * voxel_ml, l.centre = centre(R.box[size_t(r)]);
    std::vector<int64_t> ps;
    for (auto it = match.lower_bound({r, 0}); it != match.end() && it->first == r; ++it) ps.push_back(it->second);
    l.partners = int64_t(ps.size());
    l.matched = !ps.empty();
    for (int64_t p : ps) l.partner_ml += double(P.voxels[size_t(p - 1)]) * voxel_ml;
    if (l.matched) {
      const auto [dc, h] = score_pair(R, r, P, ps, ref, shape, mo);
      l.dice = dc;
      if (mo.surface_metrics) l.hd95 = h ? *h : s.penalty_mm;
      ++s.tp;
    } else {
      l.dice = 0.0;
      if (mo.surface_metrics) l.hd95 = s.penalty_mm;
      ++s.fn;
    }
    if (!ref_touched[size_t(r)]) s.fn_volume_ml += l.volume_ml;
    dice.push_back(*l.dice);
    if (l.hd95) hd.push_back(*l.hd95);
    ++s.n_ref;
    s.lesions.push_back(l);
  }
  for (int64_t p = 1; p <= np; ++p) {
    if (!P.keep[size_t(p)]) {
      ++s.ignored_pred;
      continue;
    }
    Lesion l;
    l.side = "pred", l.id = p, l.volume_ml = double(P.voxels[size_t(p - 1)]) * voxel_ml, l.centre = centre(P.box[size_t(p)]);
    for (const auto& [r, q] : match)
      if (q == p) ++l.partners, l.partner_ml += double(R.voxels[size_t(r - 1)]) * voxel_ml;
    l.matched = l.partners > 0;
    if (!l.matched) {
      ++s.fp;
      l.dice = 0.0;
      if (mo.surface_metrics) l.hd95 = s.penalty_mm;
      dice.push_back(0.0);
      if (l.hd95) hd.push_back(*l.hd95);
    }
    if (!pred_touched[size_t(p)]) s.fp_volume_ml += l.volume_ml;
    ++s.n_pred;
    s.lesions.push_back(l);
  }
  auto mean = [](const std::vector<double>& v) {
    double t = 0;
    for (double x : v) t += x;
    return t / double(v.size());
  };
  if (dice.empty()) {
    s.flag = "absent";
  } else {
    s.lesion_dice = mean(dice);
    if (!hd.empty()) s.lesion_hd95 = mean(hd);
  }
  if (s.n_ref > 0) s.sensitivity = double(s.tp) / double(s.n_ref);
  if (s.tp + s.fp > 0) s.precision = double(s.tp) / double(s.tp + s.fp);
  if (s.tp + s.fp + s.fn > 0) s.f1 = 2.0 * double(s.tp) / double(2 * s.tp + s.fp + s.fn);
  return s;
}

std::vector<Region> parse_lesion_labels(const std::string& text, const std::map<int64_t, std::string>& names,
                                        const std::vector<Region>& regions) {
  std::vector<Region> out;
  size_t b = 0;
  while (b <= text.size()) {
    size_t e = text.find(',', b);
    if (e == std::string::npos) e = text.size();
    const std::string t = text.substr(b, e - b);
    b = e + 1;
    if (t.empty()) fail(ExitCode::Usage, "--lesions '{}': empty item", text);
    const auto region = std::find_if(regions.begin(), regions.end(), [&](const Region& r) { return r.name == t; });
    const auto named = std::find_if(names.begin(), names.end(), [&](const auto& kv) { return kv.second == t; });
    if (region != regions.end()) {
      out.push_back(*region);
    } else if (named != names.end()) {
      out.push_back({t, {named->first}});
    } else if (t.find_first_not_of("0123456789") == std::string::npos && t.size() < 10) {
      const int64_t id = std::stoll(t);
      if (id == 0) fail(ExitCode::Usage, "--lesions: label 0 is background");
      const auto it = names.find(id);
      out.push_back({it != names.end() ? it->second : t, {id}});
    } else {
      fail(ExitCode::Usage, "--lesions: '{}' is neither a label id nor a name from the label table or --regions", t);
    }
  }
  return out;
}

std::optional<double> parse_lesion_match(const std::string& text) {
  if (text == "any") return std::nullopt;
  if (text.rfind("iou:", 0) == 0) {
    char* end = nullptr;
    const std::string v = text.substr(4);
    const double t = std::strtod(v.c_str(), &end);
    if (!v.empty() && end && *end == '\0' && t >= 0 && t < 1) return t;
  }
  fail(ExitCode::Usage, "--lesion-match '{}': expected any or iou:T with 0 <= T < 1", text);
}

void configure_lesions(LesionOptions& o, const std::string& labels, const std::string& match,
                       const std::map<int64_t, std::string>& names, const std::vector<Region>& regions, bool instances,
                       bool lesion_csv) {
  if (labels.empty()) {
    if (lesion_csv || match != "any" || o.dilate > 0 || o.min_ml > 0 || o.connectivity != 26)
      fail(ExitCode::Usage, "lesion options (--lesion-*) need --lesions LABEL[,LABEL]");
    return;
  }
  if (instances) fail(ExitCode::Usage, "--lesions scores semantic labels; it does not combine with --instances");
  o.regions = parse_lesion_labels(labels, names, regions);
  o.iou = parse_lesion_match(match);
  if (o.iou && o.dilate > 0)
    fail(ExitCode::Usage, "--lesion-dilate applies to --lesion-match any (BraTS); IoU matching uses the lesions as they are");
}

Json to_json(const LesionScores& s) {
  Json j = Json::object();
  j["label"] = s.name;
  Json values = Json::array();
  for (int64_t v : s.values) values.push_back(v);
  j["values"] = values;
  j["flag"] = s.flag;
  j["n_ref"] = s.n_ref, j["n_pred"] = s.n_pred, j["tp"] = s.tp, j["fp"] = s.fp, j["fn"] = s.fn;
  j["ignored_ref"] = s.ignored_ref, j["ignored_pred"] = s.ignored_pred;
  j["sensitivity"] = opt(s.sensitivity), j["precision"] = opt(s.precision), j["f1"] = opt(s.f1);
  j["lesion_dice"] = opt(s.lesion_dice), j["lesion_hd95"] = opt(s.lesion_hd95);
  j["fp_volume_ml"] = s.fp_volume_ml, j["fn_volume_ml"] = s.fn_volume_ml;
  j["penalty_mm"] = s.penalty_mm;
  Json ls = Json::array();
  for (const auto& l : s.lesions) {
    Json o = Json::object();
    o["side"] = l.side, o["id"] = l.id, o["volume_ml"] = l.volume_ml, o["matched"] = l.matched;
    o["partners"] = l.partners, o["partner_ml"] = l.partner_ml;
    o["dice"] = opt(l.dice), o["hd95"] = opt(l.hd95);
    Json c = Json::array();
    for (int64_t v : l.centre) c.push_back(v);
    o["centre_xyz"] = c;
    ls.push_back(o);
  }
  j["lesions"] = ls;
  return j;
}

Json describe_lesions(const LesionOptions& o) {
  Json j = Json::object();
  j["connectivity"] = int64_t(o.connectivity);
  j["match"] = o.iou ? fmt::format("iou>{}", *o.iou) : std::string("any overlap");
  j["min_ml"] = o.min_ml;
  j["dilate_voxels"] = int64_t(o.dilate);
  j["definition"] =
      "connected components per lesion label; a reference lesion is detected (TP) when a predicted component "
      "matches it, else FN; a predicted component matching no reference lesion is FP. Lesion-wise Dice/HD95 "
      "(BraTS 2023): per reference lesion against the union of its matched components; FN and FP lesions score "
      "Dice 0 and HD95 = the image diagonal (penalty_mm); mean over reference lesions + FP. fp/fn_volume_ml "
      "(autoPET): components with no voxel overlap with the other side";
  return j;
}

}  // namespace voxseg::metrics
