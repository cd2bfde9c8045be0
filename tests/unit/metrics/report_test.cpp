// Summary statistics, CSV, SVG plots and the HTML report's self-containment.
#include <gtest/gtest.h>

#include <regex>

#include "voxseg/metrics/report.h"

namespace vm = voxseg::metrics;

namespace {

vm::CaseResult make_case(const std::string& name, std::optional<double> dice, const std::string& flag) {
  vm::CaseResult r;
  r.input = {name, name + "_pred.nii.gz", name + ".nii.gz", ""};
  vm::RegionScores s;
  s.name = "liver, left";  // a comma: the CSV must quote it
  s.values = {1, 6};
  s.flag = flag;
  s.dice = dice;
  s.iou = dice;
  if (flag.empty()) s.hd95 = 2.5;
  s.pred_ml = 1.5, s.ref_ml = 2.0;
  r.regions.push_back(s);
  return r;
}

}  // namespace

TEST(Report, StatsUseSampleStdAndLinearQuartiles) {
  const auto s = vm::compute_stats({4, 1, 3, 2}, 2);
  EXPECT_EQ(s.n, 4);
  EXPECT_EQ(s.n_null, 2);
  EXPECT_DOUBLE_EQ(*s.mean, 2.5);
  EXPECT_NEAR(*s.std, std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_DOUBLE_EQ(*s.median, 2.5);
  EXPECT_DOUBLE_EQ(*s.q1, 1.75);
  EXPECT_DOUBLE_EQ(*s.q3, 3.25);
  EXPECT_DOUBLE_EQ(*s.min, 1);
  EXPECT_DOUBLE_EQ(*s.max, 4);
  const auto empty = vm::compute_stats({}, 3);
  EXPECT_FALSE(empty.mean.has_value());
  EXPECT_EQ(empty.n_null, 3);
}

TEST(Report, SummaryCountsFlagsAndLeavesNullsOutOfMeans) {
  const std::vector<vm::CaseResult> rs{make_case("a", 0.8, ""), make_case("b", 0.0, "missing"),
                                       make_case("c", std::nullopt, "absent")};
  const auto j = vm::summarize(rs, true);
  const auto& l = j.find("labels")->as_array().at(0);
  EXPECT_EQ(l.find("missing")->as_int(), 1);
  EXPECT_EQ(l.find("absent")->as_int(), 1);
  const auto& dice = *l.find("metrics")->find("dice");
  EXPECT_EQ(dice.find("n")->as_int(), 2);  // a and b; c (absent) is null
  EXPECT_EQ(dice.find("n_null")->as_int(), 1);
  EXPECT_DOUBLE_EQ(dice.find("mean")->as_double(), 0.4);
  const auto& hd95 = *l.find("metrics")->find("hd95");
  EXPECT_EQ(hd95.find("n")->as_int(), 1);
  EXPECT_EQ(hd95.find("n_null")->as_int(), 2);
  EXPECT_NE(vm::summary_table(j).find("missing 1"), std::string::npos);
}

TEST(Report, CsvQuotesNamesAndLeavesNullsEmpty) {
  const std::string csv = vm::results_csv({make_case("a", 0.8, ""), make_case("b", 0.0, "missing")});
  std::istringstream in(csv);
  std::string header, row1, row2;
  std::getline(in, header), std::getline(in, row1), std::getline(in, row2);
  EXPECT_EQ(header.rfind("case,label,values,flag,dice,iou,", 0), 0u);
  EXPECT_EQ(row1.rfind("a,\"liver, left\",1+6,,0.8,0.8,", 0), 0u) << row1;
  EXPECT_EQ(row2.rfind("b,\"liver, left\",1+6,missing,0,0,", 0), 0u) << row2;
  // hd95 is the 14th column: empty for the missing case.
  auto field = [](const std::string& row, int k) {
    std::vector<std::string> f;
    std::string cur;
    bool q = false;
    for (char c : row) {
      if (c == '"') q = !q;
      else if (c == ',' && !q) f.push_back(cur), cur.clear();
      else cur += c;
    }
    f.push_back(cur);
    return f.at(size_t(k));
  };
  EXPECT_EQ(field(row1, 13), "2.5");
  EXPECT_EQ(field(row2, 13), "");
}

TEST(Report, SvgBoxPlotHasOneBoxPerNonEmptyGroup) {
  const std::string svg = vm::svg_box_plot("dice <&>", {{"a", {0.1, 0.5, 0.9}}, {"b", {}}, {"c", {0.7}}});
  EXPECT_EQ(svg.rfind("<svg class=\"boxplot\"", 0), 0u);
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t p = svg.find(what); p != std::string::npos; p = svg.find(what, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("class=\"box\""), 2u);
  EXPECT_EQ(count("<circle"), 4u);
  EXPECT_NE(svg.find("dice &lt;&amp;&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<&>"), std::string::npos);
}

TEST(Report, HtmlIsSelfContained) {
  const std::vector<vm::CaseResult> rs{make_case("a", 0.8, ""), make_case("b", 0.0, "missing")};
  const auto summary = vm::summarize(rs, true);
  voxseg::Json prov = voxseg::Json::object();
  prov["command_line"] = "voxseg eval <script>";
  voxseg::Json failures = voxseg::Json::array();
  voxseg::Json f = voxseg::Json::object();
  f["case"] = "z", f["error"] = "cannot read 'z.nii.gz'";
  failures.push_back(f);
  const std::string html = vm::html_report(rs, summary, vm::describe_conventions(vm::MetricOptions{}), prov, failures);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_FALSE(std::regex_search(html, std::regex("(src|href)=\"(https?:)?//")));
  EXPECT_NE(html.find("id=\"summary-table\""), std::string::npos);
  EXPECT_NE(html.find("class=\"failure\""), std::string::npos);
  EXPECT_NE(html.find("Convention</b>: MONAI"), std::string::npos);
  EXPECT_EQ(html.find("<script>\"") , std::string::npos);
  EXPECT_EQ(html.find("eval <script>"), std::string::npos);  // escaped
}
