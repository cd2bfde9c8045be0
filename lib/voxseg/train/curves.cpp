// Per-epoch logs: CSV, JSON and an SVG training curve (no plotting library needed).
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "voxseg/core/atomic_file.h"
#include "voxseg/train/trainer.h"

namespace voxseg::train {
namespace {

double num(const Json& row, const char* key) {
  const Json* v = row.find(key);
  return v && v->is_number() ? v->as_double() : std::nan("");
}
std::string csv_number(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : ""; }

}  // namespace

std::string training_curve_svg(const std::vector<Json>& rows) {
  const double w = 640, h = 360, left = 60, right = 60, top = 30, bottom = 45;
  const double pw = w - left - right, ph = h - top - bottom;
  double lo = 1e300, hi = -1e300;
  int64_t max_epoch = 1;
  for (const auto& r : rows) {
    const double l = num(r, "train_loss");
    if (std::isfinite(l)) lo = std::min(lo, l), hi = std::max(hi, l);
    max_epoch = std::max<int64_t>(max_epoch, int64_t(num(r, "epoch")));
  }
  if (!(hi >= lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-9) hi = lo + 1;
  auto x_of = [&](double e) { return left + (max_epoch > 1 ? (e - 1) / double(max_epoch - 1) : 0.5) * pw; };
  auto y_loss = [&](double v) { return top + (hi - v) / (hi - lo) * ph; };
  auto y_dice = [&](double v) { return top + (1 - v) * ph; };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      w, h, w, h);
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n", left, top, pw, ph);
  for (int i = 0; i <= 4; ++i) {
    const double f = i / 4.0, y = top + f * ph;
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n", left, y, left + pw, y);
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#1f77b4\">{:.3g}</text>\n", left - 4, y + 4,
                       hi - f * (hi - lo));
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" fill=\"#d62728\">{:.2f}</text>\n", left + pw + 4, y + 4, 1 - f);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">epoch (1..{})</text>\n", left + pw / 2, h - 10, max_epoch);
  svg += fmt::format("<text x=\"{}\" y=\"18\" fill=\"#1f77b4\">train loss</text>"
                     "<text x=\"{}\" y=\"18\" fill=\"#d62728\">validation Dice</text>"
                     "<text x=\"{}\" y=\"18\" fill=\"#2ca02c\">smoothed Dice</text>\n",
                     left, left + 120, left + 250);
  auto polyline = [&](const char* key, const char* colour, bool dice) {
    std::string pts;
    for (const auto& r : rows) {
      const double v = num(r, key);
      if (!std::isfinite(v)) continue;
      pts += fmt::format("{:.1f},{:.1f} ", x_of(num(r, "epoch")), dice ? y_dice(v) : y_loss(v));
    }
    if (!pts.empty())
      svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\n", colour, pts);
  };
  polyline("train_loss", "#1f77b4", false);
  polyline("val_dice_mean", "#d62728", true);
  polyline("val_dice_ema", "#2ca02c", true);
  svg += "</svg>\n";
  return svg;
}

void write_training_logs(const std::filesystem::path& dir, const std::vector<Json>& rows) {
  std::vector<std::string> labels;
  for (const auto& r : rows)
    if (const Json* d = r.find("val_dice"))
      for (const auto& [k, v] : d->as_object())
        if (std::find(labels.begin(), labels.end(), k) == labels.end()) labels.push_back(k);
  std::string csv = "epoch,train_loss,lr,val_dice_mean,val_dice_ema";
  for (const auto& l : labels) csv += ",dice_" + l;
  csv += ",epoch_seconds,samples_per_second,data_wait_fraction,allreduce_fraction\n";
  Json all = Json::array();
  for (const auto& r : rows) {
    csv += fmt::format("{},{},{},{},{}", int64_t(num(r, "epoch")), csv_number(num(r, "train_loss")),
                       csv_number(num(r, "lr")), csv_number(num(r, "val_dice_mean")), csv_number(num(r, "val_dice_ema")));
    for (const auto& l : labels) {
      const Json* d = r.find("val_dice");
      const Json* v = d ? d->find(l) : nullptr;
      csv += "," + (v && v->is_number() ? csv_number(v->as_double()) : std::string());
    }
    csv += fmt::format(",{},{},{},{}\n", csv_number(num(r, "epoch_seconds")), csv_number(num(r, "samples_per_second")),
                       csv_number(num(r, "data_wait_fraction")), csv_number(num(r, "allreduce_fraction")));
    all.push_back(r);
  }
  write_text_atomic(dir / "training_log.csv", csv, true);
  write_text_atomic(dir / "training_log.json", all.dump(2) + "\n", true);
  write_text_atomic(dir / "training_curve.svg", training_curve_svg(rows), true);
}

}  // namespace voxseg::train
