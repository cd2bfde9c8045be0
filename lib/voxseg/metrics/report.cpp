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
#include "voxseg/metrics/detail/report_values.h"
#include "voxseg/metrics/lesion_report.h"

namespace voxseg::metrics {
namespace {

using detail::instance_value;
using detail::num;
using detail::opt_json;

Json stats_json(const Stats& s) {
  Json j = Json::object();
  j["n"] = s.n, j["n_null"] = s.n_null;
  j["mean"] = opt_json(s.mean), j["std"] = opt_json(s.std), j["median"] = opt_json(s.median);
  j["iqr"] = s.q1 ? Json(*s.q3 - *s.q1) : Json();
  j["q1"] = opt_json(s.q1), j["q3"] = opt_json(s.q3);
  j["min"] = opt_json(s.min), j["max"] = opt_json(s.max);
  return j;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_num(const std::optional<double>& v) { return v ? fmt::format("{:.10g}", *v) : ""; }

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
    for (const auto& m : detail::instance_metric_names()) {
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
