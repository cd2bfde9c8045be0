#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace voxseg::metrics {

/// A plot axis with round ticks: lo and hi are multiples of step, step is 1, 2 or 5 x 10^k.
struct Axis {
  double lo = 0, hi = 1, step = 0.2;
  int decimals = 1;  ///< enough to tell two ticks apart, no more
  std::vector<double> ticks;
};

/// The axis covering [lo, hi] with the largest 1-2-5 step that gives at most max_intervals
/// intervals; ends rounded outward to the step. An empty range (lo == hi) is widened around it.
Axis nice_axis(double lo, double hi, int max_intervals = 5);

/// A tick label: fixed-point with `decimals` places, never an exponent and never "-0".
std::string format_tick(double value, int decimals);

/// How a metric's axis is bounded: Unit [0, 1] (Dice, IoU, NSD, precision, recall, F1, PQ, ...),
/// NonNegative [0, data max] (distances, volumes), Count (whole steps from 0, at least to 5: split,
/// merged, tp, fp, fn), Signed (data range and 0: diff_ml).
enum class MetricScale { Unit, NonNegative, Count, Signed };
MetricScale metric_scale(const std::string& metric);

/// nice_axis over the metric's range: [0, 1] in steps of 0.2 for Unit metrics, from 0 for
/// NonNegative ones, the data with 0 for Signed ones.
Axis metric_axis(const std::string& metric, double data_lo, double data_hi);

using Rgb = std::array<uint8_t, 3>;
/// "#rrggbb".
std::string css_colour(const Rgb& c);

/// Box/strip plot of one metric: one box per group (name, values) over metric_axis, as inline SVG.
std::string svg_box_plot(const std::string& title,
                         const std::vector<std::pair<std::string, std::vector<double>>>& groups,
                         const std::string& metric = "");

/// One bar per label (one case): value (null drawn as "n/a") over metric_axis, in the label's colour.
struct Bar {
  std::string label;
  std::optional<double> value;
  Rgb colour{74, 85, 104};
};
std::string svg_bar_chart(const std::string& title, const std::string& metric, const std::vector<Bar>& bars);

/// Scatter of (x, y) points on equal axes from 0 with round ticks and a dashed y = x line; each
/// point's colour given. Used for reference vs predicted lesion volumes.
std::string svg_scatter(const std::vector<std::pair<double, double>>& points, const std::vector<std::string>& colours,
                        const std::string& x_title, const std::string& y_title,
                        const std::string& css_class = "scatter");

/// Text escaped for HTML and SVG (& < > " ').
std::string xml_escape(const std::string& s);

}  // namespace voxseg::metrics
