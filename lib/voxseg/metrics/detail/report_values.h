#pragma once
// Helpers shared by report.cpp (tables, CSV, JSON) and report_html.cpp; private to metrics.
#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/metrics/instances.h"

namespace voxseg::metrics::detail {

inline const std::vector<std::string>& instance_metric_names() {
  static const std::vector<std::string> names{"precision", "recall", "f1",     "mean_matched_iou",
                                              "pq",        "split",  "merged", "foreground_dice"};
  return names;
}

inline std::optional<double> instance_value(const InstanceScores& s, const std::string& name) {
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

inline Json opt_json(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

/// A number for people: 4 significant digits, whole numbers from 1000 on (2051, not 2.051e+03),
/// rounding noise (|x| < 1e-12, e.g. the std of equal values) as 0.
inline std::string plain_number(double x) {
  if (std::abs(x) < 1e-12) return "0";
  if (std::abs(x) >= 1000) return fmt::format("{:.0f}", x);
  return fmt::format("{:.4g}", x);
}

/// A table cell: plain_number, "-" for null.
inline std::string num(const Json* v) { return !v || v->is_null() ? "-" : plain_number(v->as_double()); }

}  // namespace voxseg::metrics::detail
