#include "voxseg/metrics/evaluation.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/io/case_list.h"
#include "voxseg/io/dicom_series.h"
#include "voxseg/io/volume_io.h"
#include "voxseg/metrics/labels.h"
#include "voxseg/metrics/report.h"
#include "voxseg/metrics/report_qc_images.h"
#include "voxseg/metrics/resample.h"

namespace fs = std::filesystem;

namespace voxseg::metrics {
namespace {

// The cases of a folder by name, as every program lists them (io::expand_inputs: volume files and
// DICOM series sub-folders, hidden and partial files skipped).
std::map<std::string, std::string> volumes_in(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& c : io::expand_inputs({dir.string()})) {
    const auto [it, inserted] = out.emplace(c.name, c.path);
    if (!inserted)  // "a.nii.gz" and "a.nrrd": which one to score is not ours to guess
      fail(ExitCode::Usage, "'{}' and '{}' have the same case name '{}'; keep one", it->second, c.path, c.name);
  }
  return out;
}

void require_exists(const std::string& path, const char* what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ExitCode::BadInput, "{} '{}' does not exist", what, path);
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char ch : line) {
    if (ch == '"') quoted = !quoted;
    else if (ch == ',' && !quoted) out.push_back(cur), cur.clear();
    else if (ch != '\r') cur += ch;
  }
  out.push_back(cur);
  for (auto& s : out) {
    const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    s = b == std::string::npos ? "" : s.substr(b, e - b + 1);
  }
  return out;
}

std::vector<EvalCase> read_pairs_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ExitCode::BadInput, "cannot read '{}'", path);
  std::string line;
  if (!std::getline(in, line)) fail(ExitCode::BadInput, "'{}' is empty (expected a header pred,ref[,image][,case])", path);
  const auto header = split_csv_line(line);
  int ip = -1, ir = -1, ii = -1, ic = -1;
  for (int i = 0; i < int(header.size()); ++i) {
    if (header[size_t(i)] == "pred") ip = i;
    else if (header[size_t(i)] == "ref") ir = i;
    else if (header[size_t(i)] == "image") ii = i;
    else if (header[size_t(i)] == "case") ic = i;
  }
  if (ip < 0 || ir < 0) fail(ExitCode::BadInput, "'{}': header must name columns pred and ref (got '{}')", path, line);
  const fs::path base = fs::path(path).parent_path();
  auto resolve = [&](const std::string& p) { return p.empty() || fs::path(p).is_absolute() ? p : (base / p).string(); };
  std::vector<EvalCase> out;
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto f = split_csv_line(line);
    auto get = [&](int i) { return i >= 0 && i < int(f.size()) ? f[size_t(i)] : std::string(); };
    if (get(ip).empty() || get(ir).empty()) fail(ExitCode::BadInput, "'{}' line {}: pred or ref is empty", path, n);
    EvalCase c{get(ic), resolve(get(ip)), resolve(get(ir)), resolve(get(ii))};
    if (c.name.empty()) c.name = stem_without_extension(c.ref);
    out.push_back(c);
  }
  return out;
}

at::Tensor scalar_labels(const Volume& v, const std::string& path) {
  if (v.has_channels()) fail(ExitCode::BadInput, "'{}' has {} channels; a label map has one", path, v.channels());
  return v.data;
}

// Distinct non-zero values (negative ones too: CT air is -1000), counting stops above `limit`.
// Dense flags for 8/16-bit data, a hash set otherwise; no widening copy of int16 CT volumes.
int64_t count_distinct_nonzero(const at::Tensor& data, int64_t limit) {
  const at::Tensor t = data.is_floating_point() || data.scalar_type() == at::kLong || data.scalar_type() == at::kBool
                           ? data.to(at::kInt).contiguous() : data.contiguous();
  auto dense = [&](const auto* d, int64_t n, int64_t offset, size_t range) {
    std::vector<uint8_t> seen(range, 0);
    int64_t count = 0;
    for (int64_t i = 0; i < n && count <= limit; ++i) {
      const int64_t x = int64_t(d[i]);
      if (x != 0 && !seen[size_t(x + offset)]) seen[size_t(x + offset)] = 1, ++count;
    }
    return count;
  };
  switch (t.scalar_type()) {
    case at::kByte: return dense(t.data_ptr<uint8_t>(), t.numel(), 0, 256);
    case at::kChar: return dense(t.data_ptr<int8_t>(), t.numel(), 128, 256);
    case at::kShort: return dense(t.data_ptr<int16_t>(), t.numel(), 32768, 65536);
    default: {
      const int32_t* d = t.data_ptr<int32_t>();
      std::unordered_set<int32_t> seen;
      for (int64_t i = 0; i < t.numel() && int64_t(seen.size()) <= limit; ++i)
        if (d[i] != 0) seen.insert(d[i]);
      return int64_t(seen.size());
    }
  }
}

// Label maps hold integers, and few distinct ones: an intensity image passed as a label map (often
// -p and -r swapped, or the image given as the prediction) would otherwise be scored as thousands of
// "labels".
void check_label_map(const Volume& v, const std::string& path, const char* role, int64_t max_labels) {
  const char* hint = "it looks like an intensity image, not a label map (are -p and -r swapped, or is an image "
                     "given as the prediction?)";
  const at::Tensor& t = v.data;
  if (t.is_floating_point()) {
    const at::Tensor fractional = t.ne(t.round());
    if (fractional.any().item<bool>())
      fail(ExitCode::BadInput, "'{}' ({}) holds non-integer values (e.g. {}): {}", path, role,
           t.masked_select(fractional).flatten()[0].item<double>(), hint);
  }
  if (max_labels < 0) return;
  const int64_t n = count_distinct_nonzero(t, max_labels);
  if (n > max_labels)
    fail(ExitCode::BadInput, "'{}' ({}) has more than {} distinct non-zero values (--max-labels): {}; raise "
         "--max-labels if it really holds that many labels", path, role, max_labels, hint);
}

// One window for the whole image: the DICOM modality first, then the label table's hint, then
// the intensities (choose_window).
DisplayWindow qc_window(const Volume& image, const io::VolumeFileInfo& info, const EvalOptions& o) {
  std::string modality = o.modality, source = "label table";
  if (const Json* m = info.metadata.find("modality"); m && m->is_string() && !m->as_string().empty())
    modality = m->as_string(), source = "DICOM";
  const at::Tensor v = image.data.to(at::kFloat).contiguous();
  return choose_window(o.report_window, v.data_ptr<float>(), size_t(v.numel()), modality, source);
}

}  // namespace

Pairing pair_inputs(const std::string& pred, const std::string& ref, const std::string& pairs_csv,
                    const std::string& image) {
  Pairing out;
  if (!pairs_csv.empty()) {
    if (!pred.empty() || !ref.empty()) fail(ExitCode::Usage, "give either --pairs or -p/-r, not both");
    require_exists(pairs_csv, "pairs file");
    out.cases = read_pairs_csv(pairs_csv);
  } else {
    if (pred.empty() || ref.empty()) fail(ExitCode::Usage, "give -p PRED and -r REF (files or folders), or --pairs CSV");
    require_exists(pred, "prediction");
    require_exists(ref, "reference");
    const bool pdir = fs::is_directory(pred) && !io::is_dicom_directory(pred);
    const bool rdir = fs::is_directory(ref) && !io::is_dicom_directory(ref);
    if (pdir != rdir) fail(ExitCode::Usage, "-p and -r must both be files or both be folders");
    if (!pdir) {
      out.cases.push_back({stem_without_extension(ref), pred, ref, ""});
    } else {
      const auto ps = volumes_in(pred), rs = volumes_in(ref);
      for (const auto& [name, path] : rs) {
        const auto it = ps.find(name);
        if (it == ps.end()) out.unmatched.emplace_back(name, "reference '" + path + "' has no prediction in '" + pred + "'");
        else out.cases.push_back({name, it->second, path, ""});
      }
      for (const auto& [name, path] : ps)
        if (!rs.count(name)) out.unmatched.emplace_back(name, "prediction '" + path + "' has no reference in '" + ref + "'");
      if (out.cases.empty() && out.unmatched.empty())
        fail(ExitCode::BadInput, "no volume files in '{}' and '{}'", pred, ref);
    }
  }
  if (!image.empty()) {
    require_exists(image, "image");
    if (fs::is_directory(image) && !io::is_dicom_directory(image)) {
      const auto imgs = volumes_in(image);
      for (auto& c : out.cases)
        if (c.image.empty()) {
          const auto it = imgs.find(c.name);
          if (it != imgs.end()) c.image = it->second;
          else log::warn("{}: no image named '{}' in '{}'; QC pictures without image", c.name, c.name, image);
        }
    } else {
      for (auto& c : out.cases)
        if (c.image.empty()) c.image = image;
    }
  }
  return out;
}

CaseResult evaluate_case(const EvalCase& c, const EvalOptions& o, Progress progress) {
  CaseResult result;
  result.input = c;
  Volume ref = io::read_volume(c.ref);
  Volume pred = io::read_volume(c.pred);
  scalar_labels(ref, c.ref);
  scalar_labels(pred, c.pred);
  const int64_t max_labels = o.max_labels >= 0 ? o.max_labels : o.instances ? -1 : 1000;
  check_label_map(pred, c.pred, "prediction", max_labels);
  check_label_map(ref, c.ref, "reference", max_labels);
  const std::string diff = describe_geometry_difference(pred.geometry, ref.geometry);
  if (!diff.empty()) {
    if (!o.resample_pred)
      fail(ExitCode::BadInput, "'{}' and '{}' have different geometry: {}; use --resample-pred to resample the "
           "prediction (nearest neighbour)", c.pred, c.ref, diff);
    log::warn("{}: resampling the prediction onto the reference grid (nearest neighbour): {}", c.name, diff);
    pred = resample_nearest(pred, ref.geometry);
    result.resampled = true;
  }
  if (o.instances) {
    result.instances = evaluate_instances(pred, ref, o.metrics.threads);
    return result;
  }
  std::vector<Region> regions;
  if (!o.labels.empty() || o.regions.empty())
    regions = regions_for_labels(o.labels.empty() ? present_labels(pred, ref) : o.labels, o.names);
  regions.insert(regions.end(), o.regions.begin(), o.regions.end());
  result.regions = evaluate_regions(pred, ref, regions, o.metrics, progress);
  for (const auto& region : o.lesions.regions)
    result.lesions.push_back(evaluate_lesions(pred, ref, region, o.lesions, o.metrics));
  for (const auto& region : regions) {  // a merged region takes its first label's colour
    const int64_t first = region.values.empty() ? 0 : region.values.front();
    const auto it = o.colours.find(first);
    result.colours[region.name] = it != o.colours.end() ? it->second : default_label_colour(first);
  }
  if (o.qc_images) {
    std::optional<Volume> image;
    io::VolumeFileInfo info;
    if (!c.image.empty()) {
      image = io::read_volume(c.image, {}, &info);
      if (!same_geometry(image->geometry, ref.geometry) || image->has_channels()) {
        log::warn(
            "{}: image '{}' is not on the reference grid ({}); QC pictures without image", c.name, c.image,
            image->has_channels() ? "it has channels" : describe_geometry_difference(image->geometry, ref.geometry));
        image.reset();
      }
    }
    DisplayWindow window;
    if (image) {
      result.qc_window = qc_window(*image, info, o);
      window = *result.qc_window;
    }
    result.qc = render_qc_panels(image ? &*image : nullptr, window, pred, ref, regions, result.regions, result.colours);
  }
  return result;
}

void load_label_table(EvalOptions& o, const std::string& path) {
  LabelInfo info = read_label_info(path);
  o.names = std::move(info.names);
  o.colours = std::move(info.colours);
  o.modality = std::move(info.modality);
}

Json case_json(const CaseResult& r) {
  Json j = Json::object();
  j["case"] = r.input.name;
  j["pred"] = r.input.pred;
  j["ref"] = r.input.ref;
  if (!r.input.image.empty()) j["image"] = r.input.image;
  j["resampled_pred"] = r.resampled;
  if (r.instances) {
    j["instances"] = to_json(*r.instances);
    return j;
  }
  Json labels = Json::array();
  int missing = 0, spurious = 0;
  for (const auto& s : r.regions) {
    labels.push_back(to_json(s));
    missing += s.flag == "missing";
    spurious += s.flag == "spurious";
  }
  j["labels"] = labels;
  j["missing"] = missing;
  j["spurious"] = spurious;
  if (!r.lesions.empty()) {
    Json lesions = Json::array();
    for (const auto& s : r.lesions) lesions.push_back(to_json(s));
    j["lesions"] = lesions;
  }
  return j;
}

std::string case_line(const CaseResult& r) {
  std::string line = r.input.name + ":";
  auto f = [](const std::optional<double>& v) { return v ? fmt::format("{:.4g}", *v) : std::string("null"); };
  if (r.instances) {
    const auto& s = *r.instances;
    return line + fmt::format(" {} predicted, {} reference objects; TP {} FP {} FN {}; F1 {} PQ {}; split {} merged {}",
                              s.n_pred, s.n_ref, s.tp, s.fp, s.fn, f(s.f1), f(s.pq), s.split, s.merged);
  }
  if (r.regions.empty()) return line + " no labels";
  for (size_t i = 0; i < r.regions.size(); ++i) {
    const auto& s = r.regions[i];
    line += fmt::format("{} {} dice={} hd95={}{}", i ? ";" : "", s.name, f(s.dice), f(s.hd95),
                        s.flag.empty() ? "" : " [" + s.flag + "]");
  }
  for (const auto& s : r.lesions)
    line += fmt::format("; lesions {}: TP {} FP {} FN {} lesion-dice={} lesion-hd95={}", s.name, s.tp, s.fp, s.fn,
                        f(s.lesion_dice), f(s.lesion_hd95));
  return line;
}

Json describe_conventions(const EvalOptions& o) {
  Json j = describe_conventions(o.metrics);
  if (o.instances)
    j["instances"] = "label values are object ids; one-to-one matches at IoU > 0.5 (unique); F1 = 2TP/(2TP+FP+FN); "
                     "PQ = mean matched IoU x F1; split: a reference object holding 2+ predicted objects each with "
                     ">= 50% of its voxels inside it; merged: a predicted object holding 2+ reference objects each "
                     "with >= 50% of its voxels inside it";
  if (!o.lesions.regions.empty()) j["lesions"] = describe_lesions(o.lesions);
  return j;
}

}  // namespace voxseg::metrics
