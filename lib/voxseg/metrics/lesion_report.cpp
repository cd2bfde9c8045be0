#include "voxseg/metrics/lesion_report.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "voxseg/metrics/detail/report_values.h"
#include "voxseg/metrics/report.h"
#include "voxseg/metrics/report_plots.h"

namespace voxseg::metrics {
namespace {

Json opt(const std::optional<double>& v) { return v ? Json(*v) : Json(); }
std::string fmt_opt(const std::optional<double>& v) { return v ? detail::plain_number(*v) : std::string("-"); }
std::string csv_num(const std::optional<double>& v) { return v ? fmt::format("{:.10g}", *v) : ""; }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

Json stats(const std::vector<std::optional<double>>& xs) {
  std::vector<double> v;
  int64_t nulls = 0;
  for (const auto& x : xs)
    if (x) v.push_back(*x);
    else ++nulls;
  const Stats s = compute_stats(v, nulls);
  Json j = Json::object();
  j["mean"] = opt(s.mean), j["std"] = opt(s.std), j["median"] = opt(s.median), j["min"] = opt(s.min), j["max"] = opt(s.max);
  j["n"] = s.n, j["n_null"] = s.n_null;
  return j;
}

}  // namespace

bool has_lesions(const std::vector<CaseResult>& results) {
  return std::any_of(results.begin(), results.end(), [](const CaseResult& r) { return !r.lesions.empty(); });
}

Json summarize_lesions(const std::vector<CaseResult>& results) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const LesionScores*>> by;
  for (const auto& r : results)
    for (const auto& s : r.lesions) {
      if (!by.count(s.name)) order.push_back(s.name);
      by[s.name].push_back(&s);
    }
  Json out = Json::array();
  for (const auto& name : order) {
    std::vector<std::optional<double>> dice, hd, fpv, fnv;
    int64_t tp = 0, fp = 0, fn = 0, absent = 0;
    for (const auto* s : by[name]) {
      dice.push_back(s->lesion_dice), hd.push_back(s->lesion_hd95);
      fpv.push_back(s->fp_volume_ml), fnv.push_back(s->fn_volume_ml);
      tp += s->tp, fp += s->fp, fn += s->fn, absent += s->flag == "absent";
    }
    Json j = Json::object();
    j["label"] = name;
    j["cases"] = int64_t(by[name].size()), j["absent"] = absent;
    j["lesion_dice"] = stats(dice), j["lesion_hd95"] = stats(hd);
    j["fp_volume_ml"] = stats(fpv), j["fn_volume_ml"] = stats(fnv);
    j["tp"] = tp, j["fp"] = fp, j["fn"] = fn;
    j["sensitivity"] = tp + fn > 0 ? Json(double(tp) / double(tp + fn)) : Json();
    j["precision"] = tp + fp > 0 ? Json(double(tp) / double(tp + fp)) : Json();
    j["f1"] = tp + fp + fn > 0 ? Json(2.0 * double(tp) / double(2 * tp + fp + fn)) : Json();
    out.push_back(j);
  }
  return out;
}

std::string lesion_summary_table(const Json& summary) {
  std::string out;
  auto n = [](const Json* v) { return v && !v->is_null() ? fmt::format("{:.4g}", v->as_double()) : std::string("-"); };
  for (const Json& l : summary.as_array())
    out += fmt::format("lesions {}: {} case(s); TP {} FP {} FN {}; sensitivity {} precision {} F1 {}; "
                       "lesion-wise dice mean {} hd95 mean {}; FP volume mean {} ml, FN volume mean {} ml\n",
                       l.find("label")->as_string(), l.find("cases")->as_int(), l.find("tp")->as_int(),
                       l.find("fp")->as_int(), l.find("fn")->as_int(), n(l.find("sensitivity")), n(l.find("precision")),
                       n(l.find("f1")), n(l.find("lesion_dice")->find("mean")), n(l.find("lesion_hd95")->find("mean")),
                       n(l.find("fp_volume_ml")->find("mean")), n(l.find("fn_volume_ml")->find("mean")));
  return out;
}

std::string lesions_csv(const std::vector<CaseResult>& results) {
  std::string out = "case,label,side,id,volume_ml,matched,partners,partner_ml,dice,hd95,x,y,z\n";
  for (const auto& r : results)
    for (const auto& s : r.lesions)
      for (const auto& l : s.lesions)
        out += fmt::format("{},{},{},{},{:.10g},{},{},{:.10g},{},{},{},{},{}\n", csv_field(r.input.name), csv_field(s.name),
                           l.side, l.id, l.volume_ml, l.matched ? 1 : 0, l.partners, l.partner_ml, csv_num(l.dice),
                           csv_num(l.hd95), l.centre[0], l.centre[1], l.centre[2]);
  return out;
}

std::string lesion_report_html(const std::vector<CaseResult>& results) {
  if (!has_lesions(results)) return "";
  std::string h = "<section id=\"lesions\"><h2>Lesions</h2>\n<table id=\"lesion-table\"><tr><th>case</th><th>label</th>"
                  "<th>ref</th><th>pred</th><th>TP</th><th>FP</th><th>FN</th><th>sensitivity</th><th>precision</th>"
                  "<th>F1</th><th>lesion Dice</th><th>lesion HD95</th><th>FP ml</th><th>FN ml</th></tr>\n";
  std::map<std::string, std::vector<std::pair<double, double>>> pts;
  std::vector<std::string> order;
  for (const auto& r : results)
    for (const auto& s : r.lesions) {
      h += fmt::format(
          "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
          "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
          xml_escape(r.input.name), xml_escape(s.name), s.n_ref, s.n_pred, s.tp, s.fp, s.fn, fmt_opt(s.sensitivity),
          fmt_opt(s.precision), fmt_opt(s.f1), fmt_opt(s.lesion_dice), fmt_opt(s.lesion_hd95),
          detail::plain_number(s.fp_volume_ml), detail::plain_number(s.fn_volume_ml));
      if (!pts.count(s.name)) order.push_back(s.name);
      auto& p = pts[s.name];
      for (const auto& l : s.lesions)
        if (l.side == "ref") p.emplace_back(l.volume_ml, l.partner_ml);
        else if (!l.matched) p.emplace_back(0.0, l.volume_ml);
    }
  h += "</table>\n<p class=\"legend\">each point a lesion: reference lesions at (volume, volume of their matched predicted "
       "components), <span style=\"color:#dd6b20\">missed</span> on the x axis, <span style=\"color:#c53030\">false "
       "positives</span> on the y axis; dashed: equal volumes</p>\n";
  for (const auto& name : order) {
    std::vector<std::string> colours;  // as the legend: missed orange, false positive red, matched blue
    for (const auto& [x, y] : pts[name]) colours.push_back(x == 0 ? "#c53030" : y == 0 ? "#dd6b20" : "#2b6cb0");
    h += "<figure><figcaption>" + xml_escape(name) + "</figcaption>" +
         svg_scatter(pts[name], colours, "reference lesion volume (ml)", "predicted volume (ml)", "lesion-scatter") +
         "</figure>\n";
  }
  return h + "</section>\n";
}

}  // namespace voxseg::metrics
