#include "voxseg/metrics/instances.h"

#include <mutex>
#include <unordered_map>

#include "voxseg/core/error.h"
#include "voxseg/metrics/edt.h"

namespace voxseg::metrics {
namespace {

struct PairHash {
  size_t operator()(const std::pair<int64_t, int64_t>& p) const {
    return std::hash<int64_t>()(p.first * 1000003 ^ p.second);
  }
};

Json opt(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

}  // namespace

InstanceScores evaluate_instances(const Volume& pred, const Volume& ref, int threads) {
  auto flat = [](const Volume& v) {
    at::Tensor t = v.data.is_floating_point() ? v.data.round() : v.data;
    return t.to(at::kLong).contiguous().reshape({-1});
  };
  const at::Tensor pt = flat(pred), rt = flat(ref);
  if (pt.numel() != rt.numel())
    fail(ExitCode::BadInput, "prediction and reference grids differ ({} vs {} voxels)", pt.numel(), rt.numel());
  const int64_t* p = pt.data_ptr<int64_t>();
  const int64_t* r = rt.data_ptr<int64_t>();
  std::unordered_map<int64_t, int64_t> area_p, area_r;
  std::unordered_map<std::pair<int64_t, int64_t>, int64_t, PairHash> inter;
  std::mutex mutex;
  parallel_for(pt.numel(), threads, [&](int64_t b, int64_t e) {
    std::unordered_map<int64_t, int64_t> ap, ar;
    std::unordered_map<std::pair<int64_t, int64_t>, int64_t, PairHash> in;
    for (int64_t i = b; i < e; ++i) {
      const int64_t pv = p[i], rv = r[i];
      if (pv > 0) ++ap[pv];
      if (rv > 0) ++ar[rv];
      if (pv > 0 && rv > 0) ++in[{pv, rv}];
    }
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& [k, v] : ap) area_p[k] += v;
    for (auto& [k, v] : ar) area_r[k] += v;
    for (auto& [k, v] : in) inter[k] += v;
  });
  InstanceScores s;
  s.n_pred = int64_t(area_p.size());
  s.n_ref = int64_t(area_r.size());
  double iou_sum = 0;
  std::unordered_map<int64_t, int> inside_ref, covering_pred;  // counts for split / merge
  int64_t fg_inter = 0, fg_p = 0, fg_r = 0;
  for (auto& [k, v] : area_p) fg_p += v;
  for (auto& [k, v] : area_r) fg_r += v;
  for (const auto& [key, n] : inter) {
    const auto [pv, rv] = key;
    fg_inter += n;
    const double ap = double(area_p[pv]), ar = double(area_r[rv]);
    const double iou = double(n) / (ap + ar - double(n));
    if (iou > 0.5) {  // at most one partner each above 0.5: the matching is unique
      ++s.tp;
      iou_sum += iou;
    }
    if (double(n) >= 0.5 * ap) ++inside_ref[rv];
    if (double(n) >= 0.5 * ar) ++covering_pred[pv];
  }
  for (const auto& [rv, c] : inside_ref) s.split += c >= 2;
  for (const auto& [pv, c] : covering_pred) s.merged += c >= 2;
  s.fp = s.n_pred - s.tp;
  s.fn = s.n_ref - s.tp;
  if (s.n_pred > 0) s.precision = double(s.tp) / double(s.n_pred);
  if (s.n_ref > 0) s.recall = double(s.tp) / double(s.n_ref);
  if (s.n_pred + s.n_ref > 0) {
    s.f1 = 2.0 * double(s.tp) / double(2 * s.tp + s.fp + s.fn);
    s.mean_matched_iou = s.tp > 0 ? std::optional<double>(iou_sum / double(s.tp)) : std::nullopt;
    s.pq = s.tp > 0 ? *s.mean_matched_iou * *s.f1 : 0.0;
    s.foreground_dice = 2.0 * double(fg_inter) / double(fg_p + fg_r);
  }
  return s;
}

Json to_json(const InstanceScores& s) {
  Json j = Json::object();
  j["n_pred"] = s.n_pred, j["n_ref"] = s.n_ref;
  j["tp"] = s.tp, j["fp"] = s.fp, j["fn"] = s.fn;
  j["precision"] = opt(s.precision), j["recall"] = opt(s.recall), j["f1"] = opt(s.f1);
  j["mean_matched_iou"] = opt(s.mean_matched_iou), j["pq"] = opt(s.pq);
  j["split"] = s.split, j["merged"] = s.merged;
  j["foreground_dice"] = opt(s.foreground_dice);
  return j;
}

}  // namespace voxseg::metrics
