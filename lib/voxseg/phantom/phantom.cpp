#include "voxseg/phantom/phantom.h"

#include <ATen/ops/empty.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "voxseg/core/error.h"
#include "voxseg/core/version.h"
#include "voxseg/phantom/detail/generators.h"

namespace voxseg::phantom {
namespace detail {

int lesion_count(Rng& rng) {
  const double u = rng.uniform();
  return u < 0.1 ? 0 : std::min(4, 1 + int((u - 0.1) / 0.9 * 4.0));
}

}  // namespace detail
namespace {

struct LabelDef {
  int id;
  const char* name;
  std::array<int, 3> color;
};

const std::vector<LabelDef>& ct_labels() {
  static const std::vector<LabelDef> labels{{0, "background", {0, 0, 0}},        {1, "liver", {221, 130, 101}},
                                            {2, "spleen", {157, 108, 162}},      {3, "kidney_left", {185, 102, 83}},
                                            {4, "kidney_right", {212, 126, 151}}, {5, "liver_tumor", {255, 255, 0}}};
  return labels;
}
const std::vector<LabelDef>& mr_labels() {
  static const std::vector<LabelDef> labels{{0, "background", {0, 0, 0}},
                                            {1, "csf", {85, 153, 255}},
                                            {2, "grey_matter", {128, 174, 128}},
                                            {3, "white_matter", {241, 214, 145}},
                                            {4, "lesion", {255, 0, 0}}};
  return labels;
}

Json label_json(int id, const std::string& name, std::array<int, 3> color) {
  Json e = Json::object();
  e["id"] = id;
  e["name"] = name;
  e["color"] = Json(Json::Array{color[0], color[1], color[2]});
  return e;
}

Json size_json(const std::array<int64_t, 3>& v) { return Json(Json::Array{v[0], v[1], v[2]}); }
Json spacing_json(const std::array<double, 3>& v) { return Json(Json::Array{v[0], v[1], v[2]}); }

template <typename T>
at::Tensor to_tensor(const std::vector<T>& values, const detail::Grid& g, at::ScalarType type) {
  at::Tensor t = at::empty({g.nz, g.ny, g.nx}, at::TensorOptions().dtype(type));
  std::memcpy(t.data_ptr(), values.data(), values.size() * sizeof(T));
  return t;
}

// Rounds to the nearest integer (halves away from zero) and clamps into [lo, hi].
template <typename T>
std::vector<T> quantize(const std::vector<float>& v, double lo, double hi) {
  std::vector<T> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = T(std::clamp(std::round(double(v[i])), lo, hi));
  return out;
}

}  // namespace

std::string kind_name(PhantomKind kind) {
  switch (kind) {
    case PhantomKind::CtAbdomen: return "ct-abdomen";
    case PhantomKind::MrBrain: return "mr-brain";
    case PhantomKind::Cells: return "cells";
  }
  return "unknown";
}

PhantomKind parse_kind(const std::string& name) {
  for (const auto kind : {PhantomKind::CtAbdomen, PhantomKind::MrBrain, PhantomKind::Cells})
    if (kind_name(kind) == name) return kind;
  fail(ExitCode::Usage, "unknown phantom kind '{}'; use ct-abdomen, mr-brain or cells", name);
}

PhantomOptions resolve_options(const PhantomOptions& in) {
  PhantomOptions o = in;
  std::array<int64_t, 3> size{};
  std::array<double, 3> spacing{};
  switch (o.kind) {
    case PhantomKind::CtAbdomen: size = {256, 256, 100}; spacing = {1.5, 1.5, 2.5}; break;
    case PhantomKind::MrBrain: size = {144, 176, 144}; spacing = {1.25, 1.25, 1.25}; break;
    case PhantomKind::Cells: size = {128, 128, 48}; spacing = {0.5, 0.5, 1.0}; break;
  }
  for (int a = 0; a < 3; ++a) {
    if (o.size[a] == 0) o.size[a] = size[a];
    if (o.spacing_mm[a] == 0.0) o.spacing_mm[a] = spacing[a];
    if (o.size[a] < 8 || o.size[a] > 1024)
      fail(ExitCode::Usage, "phantom size {} along {} is out of range; use 8..1024 voxels", o.size[a], "xyz"[a]);
    if (!(o.spacing_mm[a] > 0.0 && o.spacing_mm[a] <= 100.0))
      fail(ExitCode::Usage, "phantom spacing {} along {} is out of range; use (0, 100]", o.spacing_mm[a], "xyz"[a]);
  }
  const int64_t voxels = o.size[0] * o.size[1] * o.size[2];
  if (voxels > (int64_t(1) << 27))
    fail(ExitCode::Usage, "phantom of {}x{}x{} voxels is too large; at most 134217728 voxels (512x512x512)",
         o.size[0], o.size[1], o.size[2]);
  if (o.kind == PhantomKind::Cells) {
    if (o.objects < 0) {
      // About one nucleus (10 um across) per 3000 um^3 of field of view: dense, with contacts.
      const double fov = double(o.size[0]) * o.spacing_mm[0] * double(o.size[1]) * o.spacing_mm[1] *
                         double(o.size[2]) * o.spacing_mm[2];
      o.objects = int(std::clamp(fov / 3000.0, 2.0, 5000.0));
    }
    if (o.objects < 1 || o.objects > 60000)
      fail(ExitCode::Usage, "cannot make {} nuclei; use --objects 1..60000", o.objects);
  } else {
    // -1 stays: each seed draws its own count (0-4); make_phantom records the count it made.
    if (o.objects < -1 || o.objects > 1000) fail(ExitCode::Usage, "cannot make {} objects; use 0..1000", o.objects);
  }
  return o;
}

std::vector<double> nominal_intensities(PhantomKind kind) {
  switch (kind) {
    case PhantomKind::CtAbdomen: return {-1000.0, 60.0, 50.0, 35.0, 35.0, 25.0};
    case PhantomKind::MrBrain: return {0.0, 260.0, 620.0, 900.0, 410.0};
    case PhantomKind::Cells: return {0.0, 220.0};
  }
  return {};
}

Json label_table(PhantomKind kind, int nuclei) {
  Json table = Json::array();
  if (kind == PhantomKind::Cells) {
    table.push_back(label_json(0, "background", {0, 0, 0}));
    for (int i = 1; i <= nuclei; ++i) {
      uint64_t state = uint64_t(i) * 0x2545f4914f6cdd1dULL;
      const uint64_t h = detail::splitmix64(state);
      // Bright, distinct colours: each channel in 64..255.
      table.push_back(label_json(i, fmt::format("nucleus_{}", i),
                                 {int(64 + (h & 0xff) % 192), int(64 + ((h >> 8) & 0xff) % 192),
                                  int(64 + ((h >> 16) & 0xff) % 192)}));
    }
    return table;
  }
  for (const auto& l : kind == PhantomKind::CtAbdomen ? ct_labels() : mr_labels())
    table.push_back(label_json(l.id, l.name, l.color));
  return table;
}

Phantom make_phantom(const PhantomOptions& requested) {
  const PhantomOptions o = resolve_options(requested);
  const detail::Grid grid(o.size, o.spacing_mm);
  Phantom ph;
  ph.options = o;
  detail::RawPhantom raw;
  switch (o.kind) {
    case PhantomKind::CtAbdomen: raw = detail::generate_ct_abdomen(o, grid); break;
    case PhantomKind::MrBrain: raw = detail::generate_mr_brain(o, grid); break;
    case PhantomKind::Cells: raw = detail::generate_cells(o, grid); break;
  }
  ph.image.geometry = grid.geometry();
  ph.labels.geometry = grid.geometry();
  if (o.kind == PhantomKind::Cells) {
    ph.image.data = to_tensor(quantize<int32_t>(raw.image, 0.0, 65535.0), grid, at::kInt);
    ph.labels.data = to_tensor(raw.labels, grid, at::kInt);
    ph.image_file_type = "uint16";
    ph.labels_file_type = "uint16";
    ph.label_table = label_table(o.kind, raw.instances);
  } else {
    const double lo = o.kind == PhantomKind::CtAbdomen ? -1024.0 : 0.0;
    const double hi = o.kind == PhantomKind::CtAbdomen ? 3071.0 : 32767.0;
    ph.image.data = to_tensor(quantize<int16_t>(raw.image, lo, hi), grid, at::kShort);
    std::vector<uint8_t> labels(raw.labels.begin(), raw.labels.end());
    ph.labels.data = to_tensor(labels, grid, at::kByte);
    ph.image_file_type = "int16";
    ph.labels_file_type = "uint8";
    ph.label_table = label_table(o.kind);
    ph.options.objects = raw.instances;  // the count made (drawn per seed when not given)
  }
  return ph;
}

Json describe_phantom(const Phantom& ph) {
  const PhantomOptions& o = ph.options;
  Json j = Json::object();
  j["kind"] = kind_name(o.kind);
  j["seed"] = o.seed;
  Json opts = Json::object();
  opts["size"] = size_json(o.size);
  opts["spacing"] = spacing_json(o.spacing_mm);
  opts["spacing_units"] = o.kind == PhantomKind::Cells ? "um" : "mm";
  opts["objects"] = o.objects;
  j["options"] = opts;
  j["image_type"] = ph.image_file_type;
  j["labels_type"] = ph.labels_file_type;
  j["labels"] = ph.label_table;
  // Voxel counts per label: lets scripts check a case without reading the volumes.
  Json counts = Json::object();
  const at::Tensor l = ph.labels.data.contiguous();
  const int64_t n = l.numel();
  std::vector<int64_t> hist;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = l.scalar_type() == at::kByte ? int64_t(l.data_ptr<uint8_t>()[i]) : int64_t(l.data_ptr<int32_t>()[i]);
    if (v >= int64_t(hist.size())) hist.resize(size_t(v + 1), 0);
    ++hist[size_t(v)];
  }
  for (size_t v = 0; v < hist.size(); ++v) counts[std::to_string(v)] = hist[v];
  j["voxel_counts"] = counts;
  j["voxseg_version"] = version();
  return j;
}

std::string case_id(PhantomKind kind, uint64_t seed) { return fmt::format("{}_{:03d}", kind_name(kind), seed); }

Json dataset_json(const PhantomOptions& options, int count) {
  const PhantomOptions o = resolve_options(options);
  Json d = Json::object();
  d["name"] = fmt::format("voxseg-phantom-{}", kind_name(o.kind));
  d["description"] = fmt::format("Synthetic {} cases made by voxseg phantom {} (seeds {}..{})", kind_name(o.kind),
                                 version(), o.seed, o.seed + uint64_t(std::max(count, 1) - 1));
  Json channels = Json::object();
  channels["0"] = o.kind == PhantomKind::CtAbdomen ? "CT" : o.kind == PhantomKind::MrBrain ? "MRI" : "fluorescence";
  d["channel_names"] = channels;
  Json labels = Json::object();
  if (o.kind == PhantomKind::Cells) {
    labels["background"] = 0;
    labels["nucleus"] = 1;
    d["instance_labels"] = true;  // labelsTr hold instance ids 1..N; binarise (> 0) for nnU-Net
  } else {
    const Json table = label_table(o.kind);
    for (const auto& e : table.as_array()) labels[e.find("name")->as_string()] = *e.find("id");
  }
  d["labels"] = labels;
  d["numTraining"] = count;
  d["file_ending"] = ".nii.gz";
  Json training = Json::array();
  for (int i = 0; i < count; ++i) {
    const std::string id = case_id(o.kind, o.seed + uint64_t(i));
    Json c = Json::object();
    c["image"] = "./imagesTr/" + id + "_0000.nii.gz";
    c["label"] = "./labelsTr/" + id + ".nii.gz";
    training.push_back(c);
  }
  d["training"] = training;
  return d;
}

OutputPlan plan_outputs(const PhantomOptions& options, int count, const std::filesystem::path& dir) {
  if (count < 1 || count > 10000) fail(ExitCode::Usage, "cannot make {} cases; use --count 1..10000", count);
  if (dir.empty()) fail(ExitCode::Usage, "the output folder is empty; give -o DIR");
  const PhantomOptions o = resolve_options(options);
  OutputPlan plan;
  plan.folders.push_back(dir);
  if (count == 1) {
    plan.cases.push_back({o, dir / "image.nii.gz", dir / "labels.nii.gz"});
    plan.json = dir / "phantom.json";
    return plan;
  }
  plan.folders.push_back(dir / "imagesTr");
  plan.folders.push_back(dir / "labelsTr");
  for (int i = 0; i < count; ++i) {
    PhantomOptions c = o;
    c.seed = o.seed + uint64_t(i);
    const std::string id = case_id(o.kind, c.seed);
    plan.cases.push_back({c, dir / "imagesTr" / (id + "_0000.nii.gz"), dir / "labelsTr" / (id + ".nii.gz")});
  }
  plan.json = dir / "dataset.json";
  return plan;
}

void check_outputs(const OutputPlan& plan, bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& folder : plan.folders)
    if (fs::exists(folder, ec) && !fs::is_directory(folder, ec))
      fail(ExitCode::CannotWrite, "cannot write into '{}': it exists and is not a folder", folder.string());
  if (overwrite) return;
  std::vector<fs::path> files{plan.json};
  for (const auto& c : plan.cases) {
    files.push_back(c.image);
    files.push_back(c.labels);
  }
  for (const auto& f : files)
    if (fs::exists(f, ec))
      fail(ExitCode::CannotWrite, "output '{}' already exists; use --force to overwrite", f.string());
}

void create_output_folders(const OutputPlan& plan) {
  for (const auto& folder : plan.folders) {
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec) fail(ExitCode::CannotWrite, "cannot create folder '{}': {}", folder.string(), ec.message());
  }
}

}  // namespace voxseg::phantom
