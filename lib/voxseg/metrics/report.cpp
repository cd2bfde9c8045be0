#include "voxseg/metrics/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <map>
#include <numeric>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/percentile.h"
#include "voxseg/metrics/lesion_report.h"
#include "voxseg/metrics/png.h"

namespace voxseg::metrics {
namespace {

const std::vector<std::string> kInstanceMetrics{"precision", "recall", "f1", "mean_matched_iou", "pq",
                                                "split", "merged", "foreground_dice"};

std::optional<double> instance_value(const InstanceScores& s, const std::string& name) {
  if (name == "precision") return s.precision;
  if (name == "recall") return s.recall;
  if (name == "f1") return s.f1;
  if (name == "mean_matched_iou") return s.mean_matched_iou;
  if (name == "pq") return s.pq;
  if (name == "split") return double(s.split);
  if (name == "merged") return double(s.merged);
  if (name == "foreground_dice") return s.foreground_dice;
  return std::nullopt;
}

Json opt_json(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

Json stats_json(const Stats& s) {
  Json j = Json::object();
  j["n"] = s.n, j["n_null"] = s.n_null;
  j["mean"] = opt_json(s.mean), j["std"] = opt_json(s.std), j["median"] = opt_json(s.median);
  j["iqr"] = s.q1 ? Json(*s.q3 - *s.q1) : Json();
  j["q1"] = opt_json(s.q1), j["q3"] = opt_json(s.q3);
  j["min"] = opt_json(s.min), j["max"] = opt_json(s.max);
  return j;
}

std::string num(const Json* v) {
  if (!v || v->is_null()) return "-";
  return fmt::format("{:.4g}", v->as_double());
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_num(const std::optional<double>& v) { return v ? fmt::format("{:.10g}", *v) : ""; }

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string join_values(const std::vector<int64_t>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "+" : "") + std::to_string(v[i]);
  return out;
}

}  // namespace

Stats compute_stats(std::vector<double> v, int64_t n_null) {
  Stats s;
  s.n = int64_t(v.size());
  s.n_null = n_null;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  s.mean = mean;
  if (v.size() > 1) s.std = std::sqrt(ss / double(v.size() - 1));
  s.median = percentile_sorted(v, 0.5);
  s.q1 = percentile_sorted(v, 0.25);
  s.q3 = percentile_sorted(v, 0.75);
  s.min = v.front();
  s.max = v.back();
  return s;
}

Json summarize(const std::vector<CaseResult>& results, bool surface_metrics) {
  Json j = Json::object();
  j["cases"] = int64_t(results.size());
  const bool instances = !results.empty() && results.front().instances.has_value();
  if (instances) {
    j["mode"] = "instances";
    Json metrics = Json::object();
    for (const auto& m : kInstanceMetrics) {
      std::vector<double> v;
      int64_t nulls = 0;
      for (const auto& r : results)
        if (r.instances) {
          const auto x = instance_value(*r.instances, m);
          if (x) v.push_back(*x);
          else ++nulls;
        }
      metrics[m] = stats_json(compute_stats(v, nulls));
    }
    j["metrics"] = metrics;
    int64_t tp = 0, fp = 0, fn = 0;
    for (const auto& r : results)
      if (r.instances) tp += r.instances->tp, fp += r.instances->fp, fn += r.instances->fn;
    Json totals = Json::object();
    totals["tp"] = tp, totals["fp"] = fp, totals["fn"] = fn;
    totals["f1"] = tp + fp + fn > 0 ? Json(2.0 * double(tp) / double(2 * tp + fp + fn)) : Json();
    j["totals"] = totals;
    return j;
  }
  j["mode"] = "labels";
  std::vector<std::string> order;
  std::map<std::string, std::vector<const RegionScores*>> by_name;
  for (const auto& r : results)
    for (const auto& s : r.regions) {
      if (!by_name.count(s.name)) order.push_back(s.name);
      by_name[s.name].push_back(&s);
    }
  Json labels = Json::array();
  for (const auto& name : order) {
    const auto& list = by_name[name];
    Json l = Json::object();
    l["label"] = name;
    Json values = Json::array();
    for (int64_t v : list.front()->values) values.push_back(Json(v));
    l["values"] = values;
    int missing = 0, spurious = 0, absent = 0;
    for (const auto* s : list) missing += s->flag == "missing", spurious += s->flag == "spurious", absent += s->flag == "absent";
    l["cases"] = int64_t(list.size());
    l["missing"] = missing, l["spurious"] = spurious, l["absent"] = absent;
    Json metrics = Json::object();
    for (const auto& m : metric_names(surface_metrics)) {
      std::vector<double> v;
      int64_t nulls = 0;
      for (const auto* s : list) {
        const auto x = metric_value(*s, m);
        if (x && std::isfinite(*x)) v.push_back(*x);
        else ++nulls;
      }
      metrics[m] = stats_json(compute_stats(v, nulls));
    }
    l["metrics"] = metrics;
    labels.push_back(l);
  }
  j["labels"] = labels;
  if (has_lesions(results)) j["lesions"] = summarize_lesions(results);
  return j;
}

std::string convention_line(const Json& c) {
  return fmt::format("{} (surface {}, HD95 {}), NSD tolerance {} mm", c.find("matches")->as_string(),
                     c.find("surface")->as_string(), c.find("hd95")->as_string(), c.find("tolerance_mm")->as_double());
}

std::string summary_table(const Json& summary, const Json& conventions) {
  std::string out;
  if (conventions.is_object()) out = "convention: " + convention_line(conventions) + "\n";
  auto block = [&](const Json& metrics) {
    out += fmt::format("  {:<18}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>5}{:>6}\n", "metric", "mean", "std", "median",
                       "IQR", "min", "max", "n", "null");
    for (const auto& [name, st] : metrics.as_object())
      out += fmt::format("  {:<18}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>5}{:>6}\n", name, num(st.find("mean")),
                         num(st.find("std")), num(st.find("median")), num(st.find("iqr")), num(st.find("min")),
                         num(st.find("max")), st.find("n")->as_int(), st.find("n_null")->as_int());
  };
  const Json* mode = summary.find("mode");
  if (mode && mode->as_string() == "instances") {
    out += fmt::format("instances over {} case(s)\n", summary.find("cases")->as_int());
    block(*summary.find("metrics"));
    return out;
  }
  for (const Json& l : summary.find("labels")->as_array()) {
    std::string values;
    for (const Json& v : l.find("values")->as_array()) values += (values.empty() ? "" : "+") + std::to_string(v.as_int());
    out += fmt::format("label {} ({}): {} case(s), missing {}, spurious {}, absent {}\n", l.find("label")->as_string(),
                       values, l.find("cases")->as_int(), l.find("missing")->as_int(), l.find("spurious")->as_int(),
                       l.find("absent")->as_int());
    block(*l.find("metrics"));
  }
  if (const Json* lesions = summary.find("lesions")) out += lesion_summary_table(*lesions);
  return out;
}

std::string results_csv(const std::vector<CaseResult>& results, const Json& conventions) {
  std::string out;
  const bool instances = !results.empty() && results.front().instances.has_value();
  const std::string tag = conventions.is_object()
                              ? conventions.find("surface")->as_string() + "/" + conventions.find("hd95")->as_string()
                              : "";
  if (instances) {
    out = "case,n_pred,n_ref,tp,fp,fn,precision,recall,f1,mean_matched_iou,pq,split,merged,foreground_dice,convention\n";
    for (const auto& r : results) {
      const auto& s = *r.instances;
      out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},instances\n", csv_field(r.input.name), s.n_pred, s.n_ref, s.tp,
                         s.fp, s.fn, csv_num(s.precision), csv_num(s.recall), csv_num(s.f1),
                         csv_num(s.mean_matched_iou), csv_num(s.pq), s.split, s.merged, csv_num(s.foreground_dice));
    }
    return out;
  }
  std::vector<std::string> cols = metric_names(true);
  cols.push_back("asd_pred_to_ref");
  cols.push_back("asd_ref_to_pred");
  out = "case,label,values,flag";
  for (const auto& c : cols) out += "," + c;
  out += ",tolerance_mm,tp,fp,fn,convention\n";
  for (const auto& r : results)
    for (const auto& s : r.regions) {
      out += csv_field(r.input.name) + "," + csv_field(s.name) + "," + join_values(s.values) + "," + s.flag;
      for (const auto& c : cols) out += "," + csv_num(metric_value(s, c));
      out += fmt::format(",{},{},{},{},{}\n", s.tolerance_mm, s.tp, s.fp, s.fn, tag);
    }
  return out;
}

Json results_json(const std::vector<CaseResult>& results, const Json& summary, const Json& conventions,
                  const Json& provenance, const Json& failures) {
  Json j = Json::object();
  j["provenance"] = provenance;
  j["conventions"] = conventions;
  Json cases = Json::array();
  for (const auto& r : results) cases.push_back(case_json(r));
  j["cases"] = cases;
  j["failures"] = failures;
  j["summary"] = summary;
  return j;
}

std::string svg_box_plot(const std::string& title, const std::vector<std::pair<std::string, std::vector<double>>>& groups) {
  const double left = 56, top = 28, plot_h = 170, group_w = 90;
  const double width = left + group_w * double(std::max<size_t>(groups.size(), 1)) + 16, height = top + plot_h + 44;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& [_, v] : groups)
    for (double x : v)
      if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
  const double pad = (hi - lo) * 0.05;
  lo -= pad, hi += pad;
  auto ypos = [&](double v) { return top + plot_h * (hi - v) / (hi - lo); };
  std::string s = fmt::format(
      "<svg class=\"boxplot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" "
      "viewBox=\"0 0 {0:.0f} {1:.0f}\" role=\"img\" aria-label=\"{2}\">\n<text x=\"{3:.0f}\" y=\"16\" "
      "font-size=\"13\" font-weight=\"bold\">{2}</text>\n",
      width, height, xml_escape(title), left);
  for (int t = 0; t <= 4; ++t) {
    const double v = lo + (hi - lo) * t / 4.0, y = ypos(v);
    s += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
                     "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\">{:.3g}</text>\n",
                     left, width - 8, y, y, left - 4, y + 3, v);
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    const double cx = left + group_w * (double(g) + 0.5);
    std::vector<double> v;
    for (double x : groups[g].second)
      if (std::isfinite(x)) v.push_back(x);
    std::sort(v.begin(), v.end());
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\">{}</text>"
                     "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#666\">n={}</text>\n",
                     cx, top + plot_h + 16, xml_escape(groups[g].first.substr(0, 14)), cx, top + plot_h + 30, v.size());
    if (v.empty()) continue;
    const double q1 = percentile_sorted(v, 0.25), med = percentile_sorted(v, 0.5), q3 = percentile_sorted(v, 0.75);
    s += fmt::format("<line class=\"whisker\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>"
                     "<rect class=\"box\" x=\"{3:.1f}\" y=\"{4:.1f}\" width=\"36\" height=\"{5:.1f}\" fill=\"#cfe3f7\" "
                     "stroke=\"#2b6cb0\"/><line class=\"median\" x1=\"{3:.1f}\" x2=\"{6:.1f}\" y1=\"{7:.1f}\" "
                     "y2=\"{7:.1f}\" stroke=\"#c53030\" stroke-width=\"2\"/>\n",
                     cx, ypos(v.back()), ypos(v.front()), cx - 18, ypos(q3), std::max(1.0, ypos(q1) - ypos(q3)), cx + 18,
                     ypos(med));
    for (size_t i = 0; i < v.size(); ++i) {
      const double jitter = double(int((i * 37) % 21) - 10) * 1.2;
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"#2d3748\" fill-opacity=\"0.6\"/>", cx + jitter,
                       ypos(v[i]));
    }
    s += "\n";
  }
  return s + "</svg>\n";
}

std::string html_report(const std::vector<CaseResult>& results, const Json& summary, const Json& conventions,
                        const Json& provenance, const Json& failures) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>voxseg eval report</title>\n"
      "<style>body{font-family:sans-serif;margin:24px;color:#1a202c}table{border-collapse:collapse;margin:8px 0}"
      "td,th{border:1px solid #cbd5e0;padding:3px 8px;text-align:right;font-size:13px}th{background:#edf2f7}"
      "td.name{text-align:left}.flag{color:#c53030}figure{display:inline-block;margin:6px}"
      ".qc-row{margin:6px 0}.qc-row img{margin-right:6px;border:1px solid #a0aec0;image-rendering:pixelated}"
      "dt{font-weight:bold}dd{margin:0 0 6px 16px}.legend span{padding:0 6px}</style>\n</head>\n<body>\n";
  h += "<h1>voxseg eval report</h1>\n<p id=\"provenance\">";
  for (const auto& [k, v] : provenance.as_object())
    h += fmt::format("<b>{}</b>: {} &nbsp; ", xml_escape(k), xml_escape(v.is_string() ? v.as_string() : v.dump()));
  h += fmt::format("</p>\n<p id=\"convention\"><b>Convention</b>: {}; <a href=\"#conventions\">definitions</a></p>\n",
                   xml_escape(convention_line(conventions)));

  const bool instances = summary.find("mode")->as_string() == "instances";
  auto mean_std = [](const Json& st) {
    const Json* m = st.find("mean");
    if (!m || m->is_null()) return std::string("-");
    const Json* sd = st.find("std");
    return sd && !sd->is_null() ? num(m) + " &plusmn; " + num(sd) : num(m);
  };
  h += "<section id=\"summary\"><h2>Summary</h2>\n<table id=\"summary-table\"><tr><th>label</th><th>cases</th>";
  if (instances) {
    h += "<th>metric</th><th>mean &plusmn; std</th><th>median</th><th>IQR</th><th>min</th><th>max</th><th>null</th></tr>\n";
    for (const auto& [m, st] : summary.find("metrics")->as_object())
      h += fmt::format("<tr><td class=\"name\">instances</td><td>{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td>"
                       "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       st.find("n")->as_int() + st.find("n_null")->as_int(), m, mean_std(st), num(st.find("median")),
                       num(st.find("iqr")), num(st.find("min")), num(st.find("max")), st.find("n_null")->as_int());
  } else {
    std::vector<std::string> shown;
    const auto& labels = summary.find("labels")->as_array();
    for (const char* m : {"dice", "iou", "hd", "hd95", "assd", "nsd", "pred_ml", "ref_ml"})
      if (!labels.empty() && labels.front().find("metrics")->contains(m)) shown.push_back(m);
    h += "<th>missing</th><th>spurious</th><th>absent</th>";
    for (const auto& m : shown) h += "<th>" + m + " (mean &plusmn; std)</th>";
    h += "</tr>\n";
    for (const Json& l : labels) {
      const int64_t missing = l.find("missing")->as_int(), spurious = l.find("spurious")->as_int();
      auto flag_cell = [](int64_t n) {  // red only when there is something to flag
        return (n > 0 ? std::string("<td class=\"flag\">") : std::string("<td>")) + std::to_string(n) + "</td>";
      };
      h += fmt::format("<tr><td class=\"name\">{}</td><td>{}</td>{}{}<td>{}</td>", xml_escape(l.find("label")->as_string()),
                       l.find("cases")->as_int(), flag_cell(missing), flag_cell(spurious), l.find("absent")->as_int());
      for (const auto& m : shown) h += "<td>" + mean_std(*l.find("metrics")->find(m)) + "</td>";
      h += "</tr>\n";
    }
    h += "</table>\n<details><summary>all statistics</summary>\n<table id=\"stats-table\"><tr><th>label</th>"
         "<th>metric</th><th>mean</th><th>std</th><th>median</th><th>IQR</th><th>min</th><th>max</th><th>n</th>"
         "<th>null</th></tr>\n";
    for (const Json& l : labels)
      for (const auto& [m, st] : l.find("metrics")->as_object())
        h += fmt::format("<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td>"
                         "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                         xml_escape(l.find("label")->as_string()), m, num(st.find("mean")), num(st.find("std")),
                         num(st.find("median")), num(st.find("iqr")), num(st.find("min")), num(st.find("max")),
                         st.find("n")->as_int(), st.find("n_null")->as_int());
    h += "</table></details>\n";
  }
  if (instances) h += "</table>\n";
  h += "</section>\n<section id=\"plots\"><h2>Distributions</h2>\n";
  if (instances) {
    for (const auto& m : kInstanceMetrics) {
      std::vector<double> v;
      for (const auto& r : results)
        if (r.instances)
          if (auto x = instance_value(*r.instances, m)) v.push_back(*x);
      h += "<figure>" + svg_box_plot(m, {{"all", v}}) + "</figure>\n";
    }
  } else {
    std::vector<std::string> labels;
    for (const Json& l : summary.find("labels")->as_array()) labels.push_back(l.find("label")->as_string());
    const bool surface = summary.find("labels")->size() > 0 &&
                         summary.find("labels")->as_array().front().find("metrics")->contains("hd95");
    for (const auto& m : metric_names(surface)) {
      std::vector<std::pair<std::string, std::vector<double>>> groups;
      for (const auto& name : labels) {
        std::vector<double> v;
        for (const auto& r : results)
          for (const auto& s : r.regions)
            if (s.name == name)
              if (auto x = metric_value(s, m); x && std::isfinite(*x)) v.push_back(*x);
        groups.emplace_back(name, v);
      }
      h += "<figure>" + svg_box_plot(m, groups) + "</figure>\n";
    }
  }
  h += "</section>\n<section id=\"cases\"><h2>Cases</h2>\n<table id=\"case-table\">";
  if (instances) {
    h += "<tr><th>case</th><th>pred</th><th>ref</th><th>TP</th><th>FP</th><th>FN</th><th>F1</th><th>PQ</th>"
         "<th>split</th><th>merged</th></tr>\n";
    for (const auto& r : results) {
      const auto& s = *r.instances;
      const Json f1 = opt_json(s.f1), pq = opt_json(s.pq);
      h += fmt::format("<tr><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                       "<td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       xml_escape(r.input.name), s.n_pred, s.n_ref, s.tp, s.fp, s.fn, num(&f1), num(&pq), s.split, s.merged);
    }
  } else {
    h += "<tr><th>case</th><th>label</th><th>flag</th><th>Dice</th><th>IoU</th><th>HD</th><th>HD95</th><th>ASSD</th>"
         "<th>NSD</th><th>pred ml</th><th>ref ml</th></tr>\n";
    for (const auto& r : results)
      for (const auto& s : r.regions) {
        std::string cells;
        for (const char* m : {"dice", "iou", "hd", "hd95", "assd", "nsd", "pred_ml", "ref_ml"}) {
          const Json v = opt_json(metric_value(s, m));
          cells += "<td>" + num(&v) + "</td>";
        }
        h += fmt::format("<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td class=\"flag\">{}</td>{}</tr>\n",
                         xml_escape(r.input.name), xml_escape(s.name), s.flag, cells);
      }
  }
  h += "</table>\n</section>\n";
  h += lesion_report_html(results);
  if (failures.size() > 0) {
    h += "<section id=\"failures\"><h2>Problems</h2><ul>\n";
    for (const Json& f : failures.as_array())
      h += fmt::format("<li class=\"failure\"><b>{}</b>: {}</li>\n", xml_escape(f.find("case")->as_string()),
                       xml_escape(f.find("error")->as_string()));
    h += "</ul></section>\n";
  }
  bool any_qc = false;
  for (const auto& r : results) any_qc = any_qc || !r.qc.empty();
  if (any_qc) {
    h += "<section id=\"qc\"><h2>QC pictures</h2><p class=\"legend\">slices through the centre of each label: "
         "<span style=\"color:#1a9a1a\">reference contour (green)</span><span style=\"color:#e53e3e\">prediction "
         "contour (red)</span><span style=\"color:#b7950b\">both (yellow)</span>; axial, coronal, sagittal</p>\n";
    for (const auto& r : results) {
      if (r.qc.empty()) continue;
      h += fmt::format("<div class=\"qc-case\"><h3>{}</h3>\n", xml_escape(r.input.name));
      for (const auto& p : r.qc) {
        h += fmt::format("<div class=\"qc-row\"><b>{}</b><br>", xml_escape(p.region));
        static const char* kViews[3] = {"axial", "coronal", "sagittal"};
        for (int v = 0; v < 3; ++v)
          if (!p.png[size_t(v)].empty())
            h += fmt::format("<img class=\"qc\" alt=\"{} {} {}\" src=\"data:image/png;base64,{}\">",
                             xml_escape(r.input.name), xml_escape(p.region), kViews[v], base64_encode(p.png[size_t(v)]));
        h += "</div>\n";
      }
      h += "</div>\n";
    }
    h += "</section>\n";
  }
  h += "<section id=\"conventions\"><h2>Definitions</h2><dl>\n";
  for (const auto& [k, v] : conventions.as_object())
    h += fmt::format("<dt>{}</dt><dd>{}</dd>\n", xml_escape(k), xml_escape(v.is_string() ? v.as_string() : v.dump()));
  h += "</dl></section>\n";
  h += "<script>document.body.dataset.ready = String(document.querySelectorAll('svg.boxplot').length);</script>\n"
       "</body>\n</html>\n";
  return h;
}

std::vector<QcPanel> render_qc_panels(const Volume* image, const Volume& pred, const Volume& ref,
                                      const std::vector<Region>& regions, const std::vector<RegionScores>& scores) {
  auto zyx = [](const at::Tensor& t) { return t.dim() == 4 ? t.select(0, 0) : t; };
  const at::Tensor p = zyx(pred.data).to(at::kInt).contiguous(), r = zyx(ref.data).to(at::kInt).contiguous();
  at::Tensor im;
  if (image) im = zyx(image->data).to(at::kFloat).contiguous();
  const int64_t nz = r.size(0), ny = r.size(1), nx = r.size(2);
  const int32_t* pp = p.data_ptr<int32_t>();
  const int32_t* rp = r.data_ptr<int32_t>();
  const float* ip = image ? im.data_ptr<float>() : nullptr;
  const auto& sp = ref.geometry.spacing;  // x, y, z
  const bool planar = ref.geometry.dims == 2;
  std::vector<QcPanel> out;
  for (size_t k = 0; k < regions.size() && k < scores.size(); ++k) {
    const auto& s = scores[k];
    if (s.bbox_hi[0] < s.bbox_lo[0]) continue;
    std::vector<int32_t> vals(regions[k].values.begin(), regions[k].values.end());
    auto in = [&](const int32_t* d, int64_t i) { return std::find(vals.begin(), vals.end(), d[i]) != vals.end(); };
    std::array<int64_t, 3> lo{}, hi{}, c{};
    const std::array<int64_t, 3> n{nz, ny, nx};
    for (int a = 0; a < 3; ++a) {
      const int64_t ext = s.bbox_hi[size_t(a)] - s.bbox_lo[size_t(a)] + 1;
      const int64_t margin = std::max<int64_t>(ext / 2, 8);
      lo[size_t(a)] = std::max<int64_t>(0, s.bbox_lo[size_t(a)] - margin);
      hi[size_t(a)] = std::min<int64_t>(n[size_t(a)] - 1, s.bbox_hi[size_t(a)] + margin);
      c[size_t(a)] = (s.bbox_lo[size_t(a)] + s.bbox_hi[size_t(a)]) / 2;
    }
    QcPanel panel;
    panel.region = s.name;
    for (int view = 0; view < (planar ? 1 : 3); ++view) {
      // rows/cols axes (array order z=0, y=1, x=2); rows of coronal and sagittal run superior to inferior.
      const int ra = view == 0 ? 1 : 0, ca = view == 2 ? 1 : 2;
      const bool flip_rows = view != 0;
      const double row_mm = sp[size_t(2 - ra)], col_mm = sp[size_t(2 - ca)];
      const int64_t rows = hi[size_t(ra)] - lo[size_t(ra)] + 1, cols = hi[size_t(ca)] - lo[size_t(ca)] + 1;
      const double scale = 200.0 / std::max(double(rows) * row_mm, double(cols) * col_mm);
      const int H = std::max(1, int(std::lround(double(rows) * row_mm * scale)));
      const int W = std::max(1, int(std::lround(double(cols) * col_mm * scale)));
      auto voxel = [&](int y, int x) {
        int64_t idx[3] = {c[0], c[1], c[2]};
        int64_t rr = std::min<int64_t>(rows - 1, int64_t(double(y) / H * double(rows)));
        if (flip_rows) rr = rows - 1 - rr;
        idx[ra] = lo[size_t(ra)] + rr;
        idx[ca] = lo[size_t(ca)] + std::min<int64_t>(cols - 1, int64_t(double(x) / W * double(cols)));
        return (idx[0] * ny + idx[1]) * nx + idx[2];
      };
      std::vector<uint8_t> mp(size_t(W * H)), mr(size_t(W * H));
      std::vector<float> gray(size_t(W * H), 0.f);
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
          const int64_t i = voxel(y, x);
          mp[size_t(y * W + x)] = in(pp, i);
          mr[size_t(y * W + x)] = in(rp, i);
          if (ip) gray[size_t(y * W + x)] = ip[i];
        }
      float g_lo = 0, g_hi = 1;
      if (ip) {
        std::vector<float> sorted = gray;
        std::sort(sorted.begin(), sorted.end());
        g_lo = sorted[sorted.size() / 100];
        g_hi = sorted[sorted.size() - 1 - sorted.size() / 100];
        if (g_hi <= g_lo) g_hi = g_lo + 1;
      }
      auto edge = [&](const std::vector<uint8_t>& m, int y, int x) {
        if (!m[size_t(y * W + x)]) return false;
        return y == 0 || x == 0 || y == H - 1 || x == W - 1 || !m[size_t((y - 1) * W + x)] ||
               !m[size_t((y + 1) * W + x)] || !m[size_t(y * W + x - 1)] || !m[size_t(y * W + x + 1)];
      };
      std::vector<uint8_t> rgb(size_t(W * H * 3));
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
          const size_t i = size_t(y * W + x);
          uint8_t px[3];
          if (ip) {
            const float t = std::clamp((gray[i] - g_lo) / (g_hi - g_lo), 0.f, 1.f);
            px[0] = px[1] = px[2] = uint8_t(t * 255.f);
          } else {
            px[0] = mp[i] ? 70 : 0, px[1] = mr[i] ? 70 : 0, px[2] = 0;
          }
          const bool er = edge(mr, y, x), ep = edge(mp, y, x);
          if (er && ep) px[0] = 240, px[1] = 210, px[2] = 30;
          else if (er) px[0] = 30, px[1] = 210, px[2] = 30;
          else if (ep) px[0] = 240, px[1] = 50, px[2] = 50;
          std::copy(px, px + 3, rgb.begin() + std::ptrdiff_t(i * 3));
        }
      panel.png[size_t(view)] = encode_png_rgb(rgb, W, H);
    }
    out.push_back(std::move(panel));
  }
  return out;
}

void check_outputs(const OutputPaths& paths, bool force) {
  if (!paths.csv.empty()) check_output_path(paths.csv, force);
  if (!paths.json.empty()) check_output_path(paths.json, force);
  if (!paths.lesion_csv.empty()) check_output_path(paths.lesion_csv, force);
  if (!paths.report_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(paths.report_dir, ec);
    if (ec) fail(ExitCode::CannotWrite, "cannot create report folder '{}': {}", paths.report_dir, ec.message());
    check_output_path(std::filesystem::path(paths.report_dir) / "index.html", force);
  }
}

void write_outputs(const OutputPaths& paths, const std::vector<CaseResult>& results, const Json& summary,
                   const Json& conventions, const Json& provenance, const Json& failures, bool force) {
  if (!paths.csv.empty()) write_text_atomic(paths.csv, results_csv(results, conventions), force);
  if (!paths.lesion_csv.empty()) write_text_atomic(paths.lesion_csv, lesions_csv(results), force);
  if (!paths.json.empty())
    write_text_atomic(paths.json, results_json(results, summary, conventions, provenance, failures).dump(2) + "\n", force);
  if (!paths.report_dir.empty())
    write_text_atomic(std::filesystem::path(paths.report_dir) / "index.html",
                      html_report(results, summary, conventions, provenance, failures), force);
}

}  // namespace voxseg::metrics
