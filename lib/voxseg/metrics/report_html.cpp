// The HTML report: page assembly (tables, plots, QC pictures, definitions). Plots are drawn by
// report_plots.cpp, QC pictures by report_qc_images.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "voxseg/metrics/detail/report_values.h"
#include "voxseg/metrics/lesion_report.h"
#include "voxseg/metrics/png.h"
#include "voxseg/metrics/report.h"
#include "voxseg/metrics/report_qc_images.h"

namespace voxseg::metrics {
namespace {

using detail::num;
using detail::opt_json;

const char* kStyle =
    "<style>body{font-family:sans-serif;margin:24px;color:#1a202c}table{border-collapse:collapse;margin:8px 0}"
    "td,th{border:1px solid #cbd5e0;padding:3px 8px;text-align:right;font-size:13px}th{background:#edf2f7}"
    "td.name{text-align:left}.flag{color:#c53030}figure{display:inline-block;margin:6px;vertical-align:top}"
    ".qc-row{margin:8px 0}.qc-view{margin:0 10px 0 0}.qc-view img{border:1px solid #a0aec0;image-rendering:pixelated;"
    "vertical-align:top;margin-right:3px}figcaption{font-size:11px;color:#4a5568}.qc-window{font-size:13px}"
    ".swatch{display:inline-block;width:12px;height:12px;border:1px solid #4a5568;vertical-align:middle;margin:0 4px 0 "
    "10px}"
    "dt{font-weight:bold}dd{margin:0 0 6px 16px}.legend{font-size:13px}</style>\n";

std::string swatch(const Rgb& c) {
  return fmt::format("<span class=\"swatch\" style=\"background:{}\"></span>", css_colour(c));
}

// Display colour of a region: the case's (label table or palette), else the palette by its first value.
Rgb region_colour(const CaseResult& r, const RegionScores& s) {
  const auto it = r.colours.find(s.name);
  if (it != r.colours.end()) return it->second;
  return default_label_colour(s.values.empty() ? 0 : s.values.front());
}

std::string mean_std(const Json& st) {
  const Json* m = st.find("mean");
  if (!m || m->is_null()) return "-";
  const Json* sd = st.find("std");
  return sd && !sd->is_null() ? num(m) + " &plusmn; " + num(sd) : num(m);
}

std::string summary_section(const Json& summary, bool instances) {
  std::string h =
      "<section id=\"summary\"><h2>Summary</h2>\n<table id=\"summary-table\"><tr><th>label</th><th>cases</th>";
  if (instances) {
    h += "<th>metric</th><th>mean &plusmn; "
         "std</th><th>median</th><th>IQR</th><th>min</th><th>max</th><th>null</th></tr>\n";
    for (const auto& [m, st] : summary.find("metrics")->as_object())
      h += fmt::format(
          "<tr><td class=\"name\">instances</td><td>{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td>"
          "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
          st.find("n")->as_int() + st.find("n_null")->as_int(), m, mean_std(st), num(st.find("median")),
          num(st.find("iqr")), num(st.find("min")), num(st.find("max")), st.find("n_null")->as_int());
    return h + "</table>\n</section>\n";
  }
  std::vector<std::string> shown;
  const auto& labels = summary.find("labels")->as_array();
  for (const char* m : {"dice", "iou", "hd", "hd95", "assd", "nsd", "pred_ml", "ref_ml"})
    if (!labels.empty() && labels.front().find("metrics")->contains(m)) shown.push_back(m);
  h += "<th>missing</th><th>spurious</th><th>absent</th>";
  for (const auto& m : shown) h += "<th>" + m + " (mean &plusmn; std)</th>";
  h += "</tr>\n";
  auto flag_cell = [](int64_t n) {  // red only when there is something to flag
    return (n > 0 ? std::string("<td class=\"flag\">") : std::string("<td>")) + std::to_string(n) + "</td>";
  };
  for (const Json& l : labels) {
    h += fmt::format("<tr><td class=\"name\">{}</td><td>{}</td>{}{}<td>{}</td>",
                     xml_escape(l.find("label")->as_string()), l.find("cases")->as_int(),
                     flag_cell(l.find("missing")->as_int()), flag_cell(l.find("spurious")->as_int()),
                     l.find("absent")->as_int());
    for (const auto& m : shown) h += "<td>" + mean_std(*l.find("metrics")->find(m)) + "</td>";
    h += "</tr>\n";
  }
  h += "</table>\n<details><summary>all statistics</summary>\n<table id=\"stats-table\"><tr><th>label</th>"
       "<th>metric</th><th>mean</th><th>std</th><th>median</th><th>IQR</th><th>min</th><th>max</th><th>n</th>"
       "<th>null</th></tr>\n";
  for (const Json& l : labels)
    for (const auto& [m, st] : l.find("metrics")->as_object())
      h += fmt::format(
          "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td>"
          "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
          xml_escape(l.find("label")->as_string()), m, num(st.find("mean")), num(st.find("std")),
          num(st.find("median")), num(st.find("iqr")), num(st.find("min")), num(st.find("max")), st.find("n")->as_int(),
          st.find("n_null")->as_int());
  return h + "</table></details>\n</section>\n";
}

// One case: a bar per label (a distribution of one value says nothing). Several: box plots.
std::string plots_section(const std::vector<CaseResult>& results, const Json& summary, bool instances) {
  const bool one_case = results.size() == 1;
  std::string h = one_case ? instances ? "<section id=\"plots\"><h2>Scores</h2>\n<p>one case: a bar per metric</p>\n"
                                       : "<section id=\"plots\"><h2>Per label</h2>\n<p>one case: a bar per label</p>\n"
                           : "<section id=\"plots\"><h2>Distributions</h2>\n<p>one box per label: quartiles, whiskers "
                             "to the extremes, a dot per case</p>\n";
  if (instances) {
    if (one_case) {
      std::vector<Bar> unit, counts;
      for (const auto& m : detail::instance_metric_names())
        (metric_scale(m) == MetricScale::Unit ? unit : counts)
            .push_back({m, detail::instance_value(*results[0].instances, m), Rgb{74, 85, 104}});
      h += "<figure>" + svg_bar_chart("instance scores", "f1", unit) + "</figure>\n";
      h += "<figure>" + svg_bar_chart("splits and merges", "split", counts) + "</figure>\n";
      return h + "</section>\n";
    }
    for (const auto& m : detail::instance_metric_names()) {
      std::vector<double> v;
      for (const auto& r : results)
        if (r.instances)
          if (auto x = detail::instance_value(*r.instances, m)) v.push_back(*x);
      h += "<figure>" + svg_box_plot(m, {{"all", v}}, m) + "</figure>\n";
    }
    return h + "</section>\n";
  }
  std::vector<std::string> labels;
  for (const Json& l : summary.find("labels")->as_array()) labels.push_back(l.find("label")->as_string());
  const bool surface = !labels.empty() && summary.find("labels")->as_array().front().find("metrics")->contains("hd95");
  for (const auto& m : metric_names(surface)) {
    if (one_case) {
      std::vector<Bar> bars;
      for (const auto& s : results[0].regions) {
        const auto x = metric_value(s, m);
        bars.push_back({s.name, x && std::isfinite(*x) ? x : std::nullopt, region_colour(results[0], s)});
      }
      h += "<figure>" + svg_bar_chart(m, m, bars) + "</figure>\n";
      continue;
    }
    std::vector<std::pair<std::string, std::vector<double>>> groups;
    for (const auto& name : labels) {
      std::vector<double> v;
      for (const auto& r : results)
        for (const auto& s : r.regions)
          if (s.name == name)
            if (auto x = metric_value(s, m); x && std::isfinite(*x)) v.push_back(*x);
      groups.emplace_back(name, v);
    }
    h += "<figure>" + svg_box_plot(m, groups, m) + "</figure>\n";
  }
  return h + "</section>\n";
}

std::string cases_section(const std::vector<CaseResult>& results, bool instances) {
  std::string h = "<section id=\"cases\"><h2>Cases</h2>\n<table id=\"case-table\">";
  if (instances) {
    h += "<tr><th>case</th><th>pred</th><th>ref</th><th>TP</th><th>FP</th><th>FN</th><th>F1</th><th>PQ</th>"
         "<th>split</th><th>merged</th></tr>\n";
    for (const auto& r : results) {
      const auto& s = *r.instances;
      const Json f1 = opt_json(s.f1), pq = opt_json(s.pq);
      h += fmt::format(
          "<tr><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
          "<td>{}</td><td>{}</td><td>{}</td></tr>\n",
          xml_escape(r.input.name), s.n_pred, s.n_ref, s.tp, s.fp, s.fn, num(&f1), num(&pq), s.split, s.merged);
    }
    return h + "</table>\n</section>\n";
  }
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
  return h + "</table>\n</section>\n";
}

// The legend says what each colour is before any picture: contours, context box, label colours.
std::string qc_legend(const std::vector<CaseResult>& results) {
  std::string h =
      "<div id=\"qc-legend\" class=\"legend\"><p><b>Legend</b>: each label's slices through its largest "
      "cross-section (axial, coronal, sagittal), cropped around it, each next to the whole slice it was cut "
      "from.</p>\n<p>"
      "<b>Contours</b>:" +
      swatch(kReferenceColour) + "reference" + swatch(kPredictionColour) + "prediction" + swatch(kBothColour) +
      "both (reference and prediction coincide)</p>\n<p><b>Whole slice</b>:" + swatch(kCropBoxColour) +
      "crop box; the label filled in its colour:";
  std::vector<std::string> seen;
  for (const auto& r : results)
    for (const auto& s : r.regions) {
      if (std::find(seen.begin(), seen.end(), s.name) != seen.end()) continue;
      seen.push_back(s.name);
      h += swatch(region_colour(r, s)) + xml_escape(s.name);
    }
  return h + "</p></div>\n";
}

std::string qc_section(const std::vector<CaseResult>& results) {
  bool any_qc = false;
  for (const auto& r : results) any_qc = any_qc || !r.qc.empty();
  if (!any_qc) return "";
  std::string h = "<section id=\"qc\"><h2>QC pictures</h2>\n" + qc_legend(results);
  static const char* kViews[3] = {"axial", "coronal", "sagittal"};
  for (const auto& r : results) {
    if (r.qc.empty()) continue;
    h += fmt::format("<div class=\"qc-case\"><h3>{}</h3>\n", xml_escape(r.input.name));
    std::string window_attr;
    if (r.qc_window) {
      window_attr =
          fmt::format(" data-window-level=\"{:g}\" data-window-width=\"{:g}\"", r.qc_window->level, r.qc_window->width);
      h += fmt::format("<p class=\"qc-window\"{}>one intensity window for every picture of this case: {}</p>\n",
                       window_attr, xml_escape(r.qc_window->caption()));
    } else {
      h += "<p class=\"qc-window\">no image (--image): the masks on black, reference dim green, prediction dim "
           "red</p>\n";
    }
    for (const auto& p : r.qc) {
      Rgb colour = default_label_colour(0);
      for (const auto& s : r.regions)
        if (s.name == p.region) colour = region_colour(r, s);
      h += fmt::format("<div class=\"qc-row\"><b>{}</b>{}<br>\n", xml_escape(p.region), swatch(colour));
      for (size_t v = 0; v < 3; ++v) {
        if (p.png[v].empty()) continue;
        h += fmt::format("<figure class=\"qc-view\"{}><figcaption>{}</figcaption>", window_attr, kViews[v]);
        if (!p.context[v].empty())
          h += fmt::format(
              "<img class=\"qc-context\" alt=\"{0} {1} {2} whole slice\" title=\"whole {2} slice, crop box "
              "in cyan\" src=\"data:image/png;base64,{3}\">",
              xml_escape(r.input.name), xml_escape(p.region), kViews[v], base64_encode(p.context[v]));
        h += fmt::format("<img class=\"qc\" alt=\"{} {} {}\" src=\"data:image/png;base64,{}\"></figure>",
                         xml_escape(r.input.name), xml_escape(p.region), kViews[v], base64_encode(p.png[v]));
      }
      h += "</div>\n";
    }
    h += "</div>\n";
  }
  return h + "</section>\n";
}

}  // namespace

std::string html_report(const std::vector<CaseResult>& results, const Json& summary, const Json& conventions,
                        const Json& provenance, const Json& failures) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>voxseg eval report</title>\n";
  h += kStyle;
  h += "</head>\n<body>\n<h1>voxseg eval report</h1>\n<p id=\"provenance\">";
  for (const auto& [k, v] : provenance.as_object())
    h += fmt::format("<b>{}</b>: {} &nbsp; ", xml_escape(k), xml_escape(v.is_string() ? v.as_string() : v.dump()));
  h += fmt::format("</p>\n<p id=\"convention\"><b>Convention</b>: {}; <a href=\"#conventions\">definitions</a></p>\n",
                   xml_escape(convention_line(conventions)));
  const bool instances = summary.find("mode")->as_string() == "instances";
  h += summary_section(summary, instances);
  h += plots_section(results, summary, instances);
  h += cases_section(results, instances);
  h += lesion_report_html(results);
  if (failures.size() > 0) {
    h += "<section id=\"failures\"><h2>Problems</h2><ul>\n";
    for (const Json& f : failures.as_array())
      h += fmt::format("<li class=\"failure\"><b>{}</b>: {}</li>\n", xml_escape(f.find("case")->as_string()),
                       xml_escape(f.find("error")->as_string()));
    h += "</ul></section>\n";
  }
  h += qc_section(results);
  h += "<section id=\"conventions\"><h2>Definitions</h2><dl>\n";
  for (const auto& [k, v] : conventions.as_object())
    h += fmt::format("<dt>{}</dt><dd>{}</dd>\n", xml_escape(k), xml_escape(v.is_string() ? v.as_string() : v.dump()));
  h += "</dl></section>\n";
  h += "<script>document.body.dataset.ready = String(document.querySelectorAll('svg.boxplot, svg.barchart').length);"
       "</script>\n</body>\n</html>\n";
  return h;
}

}  // namespace voxseg::metrics
