#include "voxseg/io/volume_stats.h"

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "voxseg/io/dicom_series.h"

namespace voxseg::io {
namespace {

Json array3(const std::array<double, 3>& a, int n) {
  Json out = Json::array();
  for (int i = 0; i < n; ++i) out.push_back(a[i]);
  return out;
}

// Percentile from sorted distinct values and their counts (exact, numpy's linear interpolation).
double percentile_from_counts(const std::vector<double>& values, const std::vector<int64_t>& cumulative, double p) {
  const int64_t n = cumulative.back();
  const double pos = p / 100.0 * static_cast<double>(n - 1);
  const int64_t lo = static_cast<int64_t>(std::floor(pos)), hi = static_cast<int64_t>(std::ceil(pos));
  auto value_at = [&](int64_t k) {  // k-th smallest, 0-based
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), k);
    return values[static_cast<size_t>(it - cumulative.begin())];
  };
  const double a = value_at(lo), b = value_at(hi);
  return a + (pos - static_cast<double>(lo)) * (b - a);
}

double percentile_by_selection(const at::Tensor& flat, double p) {
  const int64_t n = flat.numel();
  const double pos = p / 100.0 * static_cast<double>(n - 1);
  const int64_t lo = static_cast<int64_t>(std::floor(pos)), hi = static_cast<int64_t>(std::ceil(pos));
  const double a = std::get<0>(at::kthvalue(flat, lo + 1)).item<double>();
  const double b = hi == lo ? a : std::get<0>(at::kthvalue(flat, hi + 1)).item<double>();
  return a + (pos - static_cast<double>(lo)) * (b - a);
}

}  // namespace

Json geometry_json(const Geometry& g) {
  Json out = Json::object();
  out["dims"] = g.dims;
  Json size = Json::array();
  for (int i = 0; i < g.dims; ++i) size.push_back(g.size[i]);
  out["size"] = size;
  out["spacing"] = array3(g.spacing, g.dims);
  out["origin"] = array3(g.origin, g.dims);
  Json dir = Json::array();
  for (double d : g.direction) dir.push_back(d);
  out["direction"] = dir;
  out["orientation"] = g.orientation_code();
  return out;
}

Json volume_statistics(const Volume& volume, const StatsOptions& options) {
  Json out = Json::object();
  at::Tensor flat = volume.data.cpu().reshape({-1});
  if (flat.numel() == 0) return out;
  const bool integer = !at::isFloatingType(flat.scalar_type());
  if (flat.scalar_type() == at::kBool) flat = flat.to(at::kByte);

  if (integer) {
    at::Tensor values, inverse, counts;
    std::tie(values, inverse, counts) = at::_unique2(flat, /*sorted=*/true, /*return_inverse=*/false,
                                                     /*return_counts=*/true);
    values = values.to(at::kDouble).contiguous();
    counts = counts.to(at::kLong).contiguous();
    std::vector<double> v(values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
    std::vector<int64_t> cumulative(static_cast<size_t>(counts.numel()));
    int64_t total = 0;
    double sum = 0;
    for (size_t i = 0; i < cumulative.size(); ++i) {
      total += counts.data_ptr<int64_t>()[i];
      sum += v[i] * static_cast<double>(counts.data_ptr<int64_t>()[i]);
      cumulative[i] = total;
    }
    out["min"] = v.front();
    out["max"] = v.back();
    out["mean"] = sum / static_cast<double>(total);
    for (double p : {1.0, 50.0, 99.0}) out[fmt::format("p{:g}", p)] = percentile_from_counts(v, cumulative, p);
    out["distinct_values"] = static_cast<int64_t>(v.size());
    if (options.labels || static_cast<int>(v.size()) <= options.max_auto_labels) {
      const double ml_per_voxel = volume.geometry.voxel_volume_mm3() / 1000.0;
      Json labels = Json::array();
      for (size_t i = 0; i < v.size(); ++i) {
        Json l = Json::object();
        l["value"] = static_cast<int64_t>(v[i]);
        l["voxels"] = counts.data_ptr<int64_t>()[i];
        l["volume_ml"] = static_cast<double>(counts.data_ptr<int64_t>()[i]) * ml_per_voxel;
        labels.push_back(l);
      }
      out["labels"] = labels;
    }
    return out;
  }

  // float32 stays float32 (selection is exact in any type); the mean is accumulated in double.
  at::Tensor d = flat.scalar_type() == at::kFloat || flat.scalar_type() == at::kDouble ? flat : flat.to(at::kFloat);
  const at::Tensor finite = d.isfinite();
  const int64_t n_finite = finite.sum().item<int64_t>();
  if (n_finite != d.numel()) {
    out["non_finite_voxels"] = d.numel() - n_finite;
    d = d.masked_select(finite);
  }
  if (d.numel() == 0) return out;
  out["min"] = d.min().item<double>();
  out["max"] = d.max().item<double>();
  out["mean"] = d.sum(at::kDouble).item<double>() / static_cast<double>(d.numel());
  for (double p : {1.0, 50.0, 99.0}) out[fmt::format("p{:g}", p)] = percentile_by_selection(d, p);
  if (options.labels) {
    at::Tensor values, inverse, counts;
    std::tie(values, inverse, counts) = at::_unique2(d, true, false, true);
    const double ml_per_voxel = volume.geometry.voxel_volume_mm3() / 1000.0;
    Json labels = Json::array();
    for (int64_t i = 0; i < values.numel(); ++i) {
      Json l = Json::object();
      l["value"] = values[i].item<double>();
      l["voxels"] = counts[i].item<int64_t>();
      l["volume_ml"] = static_cast<double>(counts[i].item<int64_t>()) * ml_per_voxel;
      labels.push_back(l);
    }
    out["labels"] = labels;
  }
  return out;
}


Json describe_volume_file(const std::string& path, const ReadOptions& read, const StatsOptions& stats) {
  VolumeFileInfo info;
  const Volume volume = read_volume(path, read, &info);
  Json out = Json::object();
  out["format"] = info.format;
  out["dtype"] = dtype_name(volume.data.scalar_type());
  out["stored_type"] = pixel_type_name(info.stored_type);
  out["channels"] = volume.channels();
  const Json g = geometry_json(volume.geometry);
  for (const auto& [key, value] : g.as_object()) out[key] = value;
  out["voxel_volume_mm3"] = volume.geometry.voxel_volume_mm3();
  out["statistics"] = volume_statistics(volume, stats);
  if (info.format == "DICOM") out["dicom"] = info.metadata;
  if (info.format == "DICOM SEG") out["dicom_seg"] = info.metadata;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    Json series = Json::array();
    for (const auto& s : list_dicom_series(path)) {
      Json j = Json::object();
      j["series_uid"] = s.series_uid;
      j["modality"] = s.modality;
      j["description"] = s.description;
      j["slices"] = s.slices;
      series.push_back(j);
    }
    out["series"] = series;
  }
  return out;
}

namespace {
std::string join_numbers(const Json& array, const char* sep = " x ") {
  std::string out;
  for (size_t i = 0; i < array.size(); ++i) {
    if (i) out += sep;
    out += fmt::format("{:.6g}", array.as_array()[i].as_double());
  }
  return out;
}
std::string number(const Json& j) { return fmt::format("{:.6g}", j.as_double()); }
}  // namespace

std::string describe_text(const Json& d) {
  std::string out;
  auto line = [&](const char* key, const std::string& value) { out += fmt::format("  {:<12} {}\n", key, value); };
  line("format", d.find("format")->as_string());
  line("size", join_numbers(*d.find("size")) + (d.find("channels")->as_int() > 1
                                                    ? fmt::format(" ({} channels)", d.find("channels")->as_int())
                                                    : ""));
  line("spacing", join_numbers(*d.find("spacing")) + " mm");
  line("origin", join_numbers(*d.find("origin"), ", ") + " mm");
  const auto& dir = d.find("direction")->as_array();
  line("direction", fmt::format("[{:.4g} {:.4g} {:.4g}; {:.4g} {:.4g} {:.4g}; {:.4g} {:.4g} {:.4g}] ({})",
                                dir[0].as_double(), dir[1].as_double(), dir[2].as_double(), dir[3].as_double(),
                                dir[4].as_double(), dir[5].as_double(), dir[6].as_double(), dir[7].as_double(),
                                dir[8].as_double(), d.find("orientation")->as_string()));
  line("dtype", d.find("dtype")->as_string() + " (stored " + d.find("stored_type")->as_string() + ")");
  const Json& s = *d.find("statistics");
  if (s.contains("min"))
    line("values", fmt::format("min {} max {} mean {} p1 {} p50 {} p99 {}", number(*s.find("min")),
                               number(*s.find("max")), number(*s.find("mean")), number(*s.find("p1")),
                               number(*s.find("p50")), number(*s.find("p99"))));
  if (const Json* labels = s.find("labels")) {
    line("labels", fmt::format("{} distinct values", labels->size()));
    for (const auto& l : labels->as_array())
      out += fmt::format("    {:>8}  {:>12} voxels  {:>12.4f} ml\n", number(*l.find("value")), l.find("voxels")->as_int(),
                         l.find("volume_ml")->as_double());
  }
  if (const Json* m = d.find("dicom")) {
    line("modality", m->find("modality") ? m->find("modality")->as_string() : "");
    if (m->find("description")) line("description", m->find("description")->as_string());
    if (m->find("series_uid"))
      line("series", m->find("series_uid")->as_string() +
                         (m->find("series_uid_missing") && m->find("series_uid_missing")->as_bool()
                              ? " (the files have no SeriesInstanceUID; grouped by their headers)"
                              : ""));
    if (const Json* dropped = m->find("dropped"); dropped && dropped->size() > 0) {
      line("dropped", fmt::format("{} image{} not in the volume", dropped->size(), dropped->size() == 1 ? "" : "s"));
      for (const auto& x : dropped->as_array())
        out += fmt::format("    {}  {}\n", x.find("file")->as_string(), x.find("reason")->as_string());
    }
    if (const Json* tilt = m->find("gantry_tilt_resampled_degrees"))
      line("tilt", fmt::format("gantry tilt {:.3g} degrees, resampled onto an orthogonal grid", tilt->as_double()));
    if (const Json* r = m->find("rescale"))
      line("rescale", fmt::format("slope {} intercept {}", number(*r->find("slope")), number(*r->find("intercept"))));
  }
  if (const Json* m = d.find("dicom_seg")) {
    line("segmentation", fmt::format("{}, {} frames, grid of the {}", m->find("segmentation_type")->as_string(),
                                     m->find("frames")->as_int(), m->find("grid")->as_string()));
    line("series", m->find("series_uid")->as_string());
    line("references", m->find("referenced_series_uid")->as_string());
    line("segments", std::to_string(m->find("segments")->size()));
    for (const auto& x : m->find("segments")->as_array())
      out += fmt::format("    {:>3} -> label {:<4} {:<20} {:>4} frames  type {}  category {}\n", x.find("number")->as_int(),
                         x.find("label")->as_int(), x.find("name")->as_string(), x.find("frames")->as_int(),
                         x.find("type")->as_string(), x.find("category")->as_string());
  }
  if (const Json* series = d.find("series")) {
    line("series", fmt::format("{} in the folder", series->size()));
    for (const auto& x : series->as_array())
      out += fmt::format("    {}  {}  {:>5} slices  {}\n", x.find("series_uid")->as_string(),
                         x.find("modality")->as_string(), x.find("slices")->as_int(),
                         x.find("description")->as_string());
  }
  return out;
}

}  // namespace voxseg::io
