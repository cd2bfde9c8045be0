// Round plot ticks (1-2-5 steps, plain numbers), metric-aware axis ranges and the one-case bar chart.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "voxseg/metrics/detail/report_values.h"
#include "voxseg/metrics/report_plots.h"

namespace vm = voxseg::metrics;

namespace {

bool is_125_step(double step) {
  const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
  return std::abs(mantissa - 1) < 1e-9 || std::abs(mantissa - 2) < 1e-9 || std::abs(mantissa - 5) < 1e-9;
}

std::vector<std::string> tick_labels(const std::string& svg) {
  std::vector<std::string> out;
  const std::regex tick("class=\"tick\"[^>]*>([^<]*)<");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tick); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

}  // namespace

TEST(NiceAxis, TableOfRanges) {
  struct Case {
    double lo, hi;
    double axis_lo, axis_hi, step;
    int decimals;
  };
  const Case cases[] = {
      {0, 1, 0, 1, 0.2, 1},      {-0.0478, 0.93, -0.5, 1, 0.5, 1},    {0, 2150, 0, 2500, 500, 0},
      {3.7, 18.2, 0, 20, 5, 0},  {0.011, 0.049, 0.01, 0.05, 0.01, 2}, {-3, 7, -5, 10, 5, 0},
      {100, 100, 90, 110, 5, 0}, {0, 0, -0.5, 0.5, 0.5, 1},
  };
  for (const auto& c : cases) {
    const vm::Axis a = vm::nice_axis(c.lo, c.hi);
    SCOPED_TRACE(::testing::Message() << "[" << c.lo << ", " << c.hi << "]");
    EXPECT_DOUBLE_EQ(a.step, c.step);
    EXPECT_DOUBLE_EQ(a.lo, c.axis_lo);
    EXPECT_DOUBLE_EQ(a.hi, c.axis_hi);
    EXPECT_EQ(a.decimals, c.decimals);
  }
}

TEST(NiceAxis, CoversTheDataWithFewRoundTicks) {
  for (double lo : {-123.4, -1.0, 0.0, 0.003, 7.0, 1999.0})
    for (double span : {0.001, 0.37, 1.0, 42.0, 2150.0, 1e6}) {
      const vm::Axis a = vm::nice_axis(lo, lo + span);
      SCOPED_TRACE(::testing::Message() << lo << " + " << span);
      EXPECT_LE(a.lo, lo);
      EXPECT_GE(a.hi, lo + span);
      EXPECT_TRUE(is_125_step(a.step)) << a.step;
      EXPECT_GE(a.ticks.size(), 2u);
      EXPECT_LE(a.ticks.size(), 6u);
      for (size_t i = 1; i < a.ticks.size(); ++i) EXPECT_NEAR(a.ticks[i] - a.ticks[i - 1], a.step, a.step * 1e-9);
      for (double t : a.ticks) {
        const std::string s = vm::format_tick(t, a.decimals);
        EXPECT_EQ(s.find_first_of("eE"), std::string::npos) << s;
        EXPECT_NE(s, "-0");
      }
    }
}

TEST(FormatTick, PlainNumbersWithoutNegativeZero) {
  EXPECT_EQ(vm::format_tick(2150, 0), "2150");
  EXPECT_EQ(vm::format_tick(0.30000000000000004, 1), "0.3");
  EXPECT_EQ(vm::format_tick(-0.0, 1), "0.0");
  EXPECT_EQ(vm::format_tick(-0.004, 2), "0.00");
  EXPECT_EQ(vm::format_tick(-0.25, 2), "-0.25");
  EXPECT_EQ(vm::format_tick(1e6, 0), "1000000");
}

TEST(MetricAxis, OverlapMetricsSpanZeroToOneAndDistancesStartAtZero) {
  for (const char* m : {"dice", "iou", "nsd", "precision", "recall", "f1", "pq", "lesion_dice"}) {
    const vm::Axis a = vm::metric_axis(m, 0.91, 0.97);
    EXPECT_DOUBLE_EQ(a.lo, 0) << m;
    EXPECT_DOUBLE_EQ(a.hi, 1) << m;
  }
  const vm::Axis hd = vm::metric_axis("hd95", 3.7, 18.2);
  EXPECT_DOUBLE_EQ(hd.lo, 0);
  EXPECT_DOUBLE_EQ(hd.hi, 20);
  const vm::Axis ml = vm::metric_axis("ref_ml", 140, 2150);
  EXPECT_DOUBLE_EQ(ml.lo, 0);
  EXPECT_DOUBLE_EQ(ml.hi, 2500);
  const vm::Axis diff = vm::metric_axis("diff_ml", -30, -5);  // signed: the axis holds 0
  EXPECT_LT(diff.lo, -29);
  EXPECT_DOUBLE_EQ(diff.hi, 0);
  const vm::Axis splits = vm::metric_axis("split", 0, 0);  // counts: whole steps, never 0.2
  EXPECT_DOUBLE_EQ(splits.step, 1);
  EXPECT_DOUBLE_EQ(splits.hi, 5);
  EXPECT_EQ(splits.decimals, 0);
  EXPECT_DOUBLE_EQ(vm::metric_axis("fp", 0, 37).step, 10);
  const vm::Axis none = vm::metric_axis("hd", NAN, NAN);  // no values: a plain [0, 1]
  EXPECT_DOUBLE_EQ(none.lo, 0);
  EXPECT_DOUBLE_EQ(none.hi, 1);
}

TEST(MetricAxis, BoxPlotOfDiceNeverGoesBelowZero) {
  const std::string svg = vm::svg_box_plot("dice", {{"liver", {0.93, 0.95}}, {"tumor", {0.0, 0.02}}}, "dice");
  EXPECT_EQ(tick_labels(svg), (std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}));
  const std::string hd = vm::svg_box_plot("hd95", {{"liver", {3.7, 18.2}}}, "hd95");
  EXPECT_EQ(tick_labels(hd), (std::vector<std::string>{"0", "5", "10", "15", "20"}));
  EXPECT_NE(hd.find("hd95 (mm)"), std::string::npos);
}

TEST(BarChart, OneBarPerLabelInItsColourAndNullsMarked) {
  const std::string svg = vm::svg_bar_chart(
      "dice", "dice",
      {{"liver", 0.95, {221, 130, 101}}, {"tumor", std::nullopt, {255, 255, 0}}, {"spleen", 0.8, {157, 108, 162}}});
  EXPECT_EQ(svg.rfind("<svg class=\"barchart\"", 0), 0u);
  size_t bars = 0;
  for (size_t p = svg.find("class=\"bar\""); p != std::string::npos; p = svg.find("class=\"bar\"", p + 1)) ++bars;
  EXPECT_EQ(bars, 2u);
  EXPECT_NE(svg.find("#dd8265"), std::string::npos);
  EXPECT_NE(svg.find("n/a"), std::string::npos);
  EXPECT_EQ(tick_labels(svg).front(), "0.0");
  EXPECT_EQ(tick_labels(svg).back(), "1.0");
}

TEST(PlainNumber, TablesShowNoExponentsOrRoundingNoise) {
  using voxseg::metrics::detail::plain_number;
  EXPECT_EQ(plain_number(1.36e-16), "0");  // the std of three equal Dice values
  EXPECT_EQ(plain_number(2051.2), "2051");
  EXPECT_EQ(plain_number(19770.4), "19770");
  EXPECT_EQ(plain_number(0.91224), "0.9122");
  EXPECT_EQ(plain_number(-21.53), "-21.53");
}
