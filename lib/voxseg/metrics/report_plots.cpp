#include "voxseg/metrics/report_plots.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "voxseg/core/percentile.h"

namespace voxseg::metrics {
namespace {

// The unit a metric's values carry, for titles ("hd95 (mm)").
const char* metric_unit(const std::string& m) {
  if (m == "hd" || m == "hd95" || m == "assd" || m == "lesion_hd95") return "mm";
  if (m.size() > 3 && m.compare(m.size() - 3, 3, "_ml") == 0) return "ml";
  return "";
}

std::string titled(const std::string& title, const std::string& metric) {
  const std::string unit = metric_unit(metric);
  return unit.empty() ? title : title + " (" + unit + ")";
}

std::string svg_open(const char* cls, double width, double height, const std::string& title, double title_x) {
  return fmt::format(
      "<svg class=\"{0}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{1:.0f}\" height=\"{2:.0f}\" "
      "viewBox=\"0 0 {1:.0f} {2:.0f}\" role=\"img\" aria-label=\"{3}\">\n<text x=\"{4:.0f}\" y=\"16\" "
      "font-size=\"13\" font-weight=\"bold\">{3}</text>\n",
      cls, width, height, xml_escape(title), title_x);
}

// Data range of finite values; nullopt-like (inf, -inf) when there are none.
std::pair<double, double> data_range(const std::vector<double>& v) {
  double lo = INFINITY, hi = -INFINITY;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  return {lo, hi};
}

}  // namespace

Axis nice_axis(double lo, double hi, int max_intervals) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo <= 1e-12 * std::max(1.0, std::abs(lo))) {  // one value: a range around it
    const double half = lo == 0 ? 0.5 : std::abs(lo) * 0.1;
    lo -= half, hi += half;
  }
  max_intervals = std::max(1, max_intervals);
  const double raw = (hi - lo) / max_intervals;
  if (!std::isfinite(raw) || raw <= 0) return nice_axis(0, 1, max_intervals);  // overflowing ranges
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  Axis a;
  for (int k = 0;; k = (k + 1) % 3) {
    const double step = magnitude * (k == 0 ? 1 : k == 1 ? 2 : 5);
    if (k == 2) magnitude *= 10;
    if (step < raw * (1 - 1e-9)) continue;
    const double a_lo = std::floor(lo / step + 1e-9) * step, a_hi = std::ceil(hi / step - 1e-9) * step;
    if (std::lround((a_hi - a_lo) / step) > max_intervals) continue;  // outward rounding added one
    a.lo = a_lo, a.hi = a_hi, a.step = step;
    break;
  }
  a.decimals = std::max(0, -int(std::floor(std::log10(a.step) + 1e-9)));
  const long n = std::lround((a.hi - a.lo) / a.step);
  const double unit = std::pow(10.0, a.decimals);
  for (long i = 0; i <= n; ++i) {
    const double t = std::round((a.lo + double(i) * a.step) * unit) / unit;  // 0.30000000000000004 -> 0.3
    a.ticks.push_back(t == 0 ? 0.0 : t);
  }
  a.lo = a.ticks.front(), a.hi = a.ticks.back();
  return a;
}

std::string format_tick(double value, int decimals) {
  std::string s = fmt::format("{:.{}f}", value, std::max(0, decimals));
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);  // "-0.0" -> "0.0"
  return s;
}

MetricScale metric_scale(const std::string& m) {
  static const char* kUnit[] = {"dice", "iou", "precision",        "recall",          "specificity", "nsd",
                                "f1",   "pq",  "mean_matched_iou", "foreground_dice", "sensitivity", "lesion_dice"};
  for (const char* u : kUnit)
    if (m == u) return MetricScale::Unit;
  if (m == "diff_ml") return MetricScale::Signed;
  for (const char* c : {"split", "merged", "tp", "fp", "fn"})
    if (m == c) return MetricScale::Count;
  return MetricScale::NonNegative;
}

Axis metric_axis(const std::string& metric, double data_lo, double data_hi) {
  const bool has_data = std::isfinite(data_lo) && std::isfinite(data_hi);
  switch (metric_scale(metric)) {
    case MetricScale::Unit: return nice_axis(0, 1);
    case MetricScale::NonNegative: return nice_axis(0, has_data && data_hi > 0 ? data_hi : 1);
    case MetricScale::Count: return nice_axis(0, has_data && data_hi > 5 ? data_hi : 5);  // steps >= 1
    case MetricScale::Signed:
      if (!has_data) return nice_axis(-1, 1);
      return nice_axis(std::min(0.0, data_lo), std::max(0.0, data_hi));
  }
  return nice_axis(0, 1);
}

std::string css_colour(const Rgb& c) { return fmt::format("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]); }

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

std::string svg_box_plot(const std::string& title,
                         const std::vector<std::pair<std::string, std::vector<double>>>& groups,
                         const std::string& metric) {
  const double left = 56, top = 28, plot_h = 170, group_w = 90;
  const double width = left + group_w * double(std::max<size_t>(groups.size(), 1)) + 16, height = top + plot_h + 44;
  std::vector<double> all;
  for (const auto& g : groups) all.insert(all.end(), g.second.begin(), g.second.end());
  const auto [d_lo, d_hi] = data_range(all);
  const Axis axis = metric.empty() ? nice_axis(std::isfinite(d_lo) ? d_lo : 0, std::isfinite(d_hi) ? d_hi : 1)
                                   : metric_axis(metric, d_lo, d_hi);
  auto ypos = [&](double v) { return top + plot_h * (axis.hi - v) / (axis.hi - axis.lo); };
  std::string s = svg_open("boxplot", width, height, titled(title, metric), left);
  for (double t : axis.ticks)
    s += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
        "<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\">{}</text>\n",
        left, width - 8, ypos(t), ypos(t), left - 4, ypos(t) + 3, format_tick(t, axis.decimals));
  for (size_t g = 0; g < groups.size(); ++g) {
    const double cx = left + group_w * (double(g) + 0.5);
    std::vector<double> v;
    for (double x : groups[g].second)
      if (std::isfinite(x)) v.push_back(x);
    std::sort(v.begin(), v.end());
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\">{}</text>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#666\">n={}</text>\n",
        cx, top + plot_h + 16, xml_escape(groups[g].first.substr(0, 14)), cx, top + plot_h + 30, v.size());
    if (v.empty()) continue;
    const double q1 = percentile_sorted(v, 0.25), med = percentile_sorted(v, 0.5), q3 = percentile_sorted(v, 0.75);
    s += fmt::format(
        "<line class=\"whisker\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>"
        "<rect class=\"box\" x=\"{3:.1f}\" y=\"{4:.1f}\" width=\"36\" height=\"{5:.1f}\" fill=\"#cfe3f7\" "
        "stroke=\"#2b6cb0\"/><line class=\"median\" x1=\"{3:.1f}\" x2=\"{6:.1f}\" y1=\"{7:.1f}\" "
        "y2=\"{7:.1f}\" stroke=\"#c53030\" stroke-width=\"2\"/>\n",
        cx, ypos(v.back()), ypos(v.front()), cx - 18, ypos(q3), std::max(1.0, ypos(q1) - ypos(q3)), cx + 18, ypos(med));
    for (size_t i = 0; i < v.size(); ++i) {
      const double jitter = double(int((i * 37) % 21) - 10) * 1.2;
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"#2d3748\" fill-opacity=\"0.6\"/>",
                       cx + jitter, ypos(v[i]));
    }
    s += "\n";
  }
  return s + "</svg>\n";
}

std::string svg_bar_chart(const std::string& title, const std::string& metric, const std::vector<Bar>& bars) {
  const double left = 110, top = 26, row_h = 20, plot_w = 200;
  const double width = left + plot_w + 56, height = top + row_h * double(std::max<size_t>(bars.size(), 1)) + 30;
  std::vector<double> values;
  for (const auto& b : bars)
    if (b.value) values.push_back(*b.value);
  const auto [d_lo, d_hi] = data_range(values);
  const Axis axis = metric_axis(metric, d_lo, d_hi);
  auto xpos = [&](double v) { return left + plot_w * (v - axis.lo) / (axis.hi - axis.lo); };
  const double bottom = top + row_h * double(std::max<size_t>(bars.size(), 1));
  std::string s = svg_open("barchart", width, height, titled(title, metric), 8);
  for (double t : axis.ticks)
    s += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>"
        "<text class=\"tick\" x=\"{0:.1f}\" y=\"{3:.1f}\" font-size=\"10\" text-anchor=\"middle\">{4}</text>\n",
        xpos(t), top, bottom, bottom + 13, format_tick(t, axis.decimals));
  for (size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const double y = top + row_h * double(i);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{}</text>", left - 6, y + 14,
                     xml_escape(b.label.substr(0, 16)));
    if (!b.value) {
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" fill=\"#718096\">n/a</text>\n", left + 4,
                       y + 14);
      continue;
    }
    const double x0 = xpos(std::clamp(0.0, axis.lo, axis.hi)), x1 = xpos(std::clamp(*b.value, axis.lo, axis.hi));
    s += fmt::format(
        "<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
        "stroke=\"#2d3748\" stroke-width=\"0.5\"/><text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\">{}</text>\n",
        std::min(x0, x1), y + 3, std::max(1.0, std::abs(x1 - x0)), row_h - 6, css_colour(b.colour),
        std::max(x0, x1) + 3, y + 14,
        format_tick(*b.value, metric_scale(metric) == MetricScale::Count ? 0 : axis.decimals + 1));
  }
  return s + "</svg>\n";
}

std::string svg_scatter(const std::vector<std::pair<double, double>>& points, const std::vector<std::string>& colours,
                        const std::string& x_title, const std::string& y_title, const std::string& css_class) {
  const double w = 360, h = 360, left = 56, bottom = 44, pad = 12;
  double hi = 0;
  for (const auto& [x, y] : points) hi = std::max({hi, x, y});
  const Axis axis = nice_axis(0, hi > 0 ? hi : 1);
  auto px = [&](double x) { return left + (x / axis.hi) * (w - left - pad); };
  auto py = [&](double y) { return h - bottom - (y / axis.hi) * (h - bottom - pad); };
  std::string s = fmt::format(
      "<svg class=\"{3}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" "
      "viewBox=\"0 0 {0:.0f} {1:.0f}\" role=\"img\" aria-label=\"{2}\">\n",
      w, h, xml_escape(y_title), xml_escape(css_class));
  for (double t : axis.ticks) {
    const std::string label = format_tick(t, axis.decimals);
    s += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#e2e8f0\"/>"
        "<text class=\"tick\" x=\"{0:.1f}\" y=\"{3:.1f}\" font-size=\"10\" text-anchor=\"middle\">{4}</text>"
        "<line x1=\"{5:.1f}\" x2=\"{6:.1f}\" y1=\"{7:.1f}\" y2=\"{7:.1f}\" stroke=\"#e2e8f0\"/>"
        "<text class=\"tick\" x=\"{8:.1f}\" y=\"{9:.1f}\" font-size=\"10\" text-anchor=\"end\">{4}</text>\n",
        px(t), py(0), py(axis.hi), py(0) + 13, label, px(0), px(axis.hi), py(t), px(0) - 4, py(t) + 3);
  }
  s += fmt::format(
      "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#a0aec0\" stroke-dasharray=\"4\"/>",
      px(0), py(0), px(axis.hi), py(axis.hi));
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"middle\">{}</text>", (w + left) / 2,
                   h - 10, xml_escape(x_title));
  s += fmt::format(
      "<text x=\"14\" y=\"{0:.1f}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 {0:.1f})\">"
      "{1}</text>\n",
      (h - bottom) / 2, xml_escape(y_title));
  for (size_t i = 0; i < points.size(); ++i)
    s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\" fill-opacity=\"0.7\"/>",
                     px(points[i].first), py(points[i].second), i < colours.size() ? colours[i] : "#2b6cb0");
  return s + "</svg>\n";
}

}  // namespace voxseg::metrics
