#include "voxseg/train/dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"

namespace fs = std::filesystem;

namespace voxseg::train {
namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cell);
      cell.clear();
    } else if (c != '\r') {
      cell += c;
    }
  }
  out.push_back(cell);
  for (auto& s : out) {
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t");
    s = b == std::string::npos ? "" : s.substr(b, e - b + 1);
  }
  return out;
}

std::string resolve(const fs::path& base, const std::string& p) {
  const fs::path path(p);
  return path.is_absolute() ? path.string() : (base / path).lexically_normal().string();
}

Dataset read_csv_dataset(const fs::path& csv, const std::string& dataset_json) {
  std::ifstream in(csv);
  if (!in) fail(ExitCode::BadInput, "cannot read '{}': cannot open file", csv.string());
  Dataset ds;
  ds.root = csv.string();
  if (!dataset_json.empty()) {
    const Json j = read_json_file(dataset_json, ExitCode::BadInput);
    try {
      parse_dataset_json(j, ds);
    } catch (const std::invalid_argument& e) {
      fail(ExitCode::BadInput, "invalid dataset description '{}': {}", dataset_json, e.what());
    }
  }
  std::string line;
  if (!std::getline(in, line)) fail(ExitCode::BadInput, "invalid dataset '{}': empty CSV file", csv.string());
  const auto header = split_csv_line(line);
  int label_col = -1, case_col = -1;
  std::map<int, int> image_cols;  // channel -> column
  for (int i = 0; i < int(header.size()); ++i) {
    const std::string& h = header[size_t(i)];
    if (h == "label") label_col = i;
    else if (h == "case" || h == "name") case_col = i;
    else if (h == "image") image_cols[0] = i;
    else if (h.rfind("image_", 0) == 0) {
      try {
        image_cols[std::stoi(h.substr(6))] = i;
      } catch (const std::exception&) {
        fail(ExitCode::BadInput, "invalid dataset '{}': bad column name '{}' (use image_0, image_1, ...)",
             csv.string(), h);
      }
    }
  }
  if (label_col < 0 || image_cols.empty())
    fail(ExitCode::BadInput, "invalid dataset '{}': the header row needs columns 'image' (or image_0, ...) and 'label'",
         csv.string());
  int expect = 0;
  for (const auto& [ch, col] : image_cols)
    if (ch != expect++)
      fail(ExitCode::BadInput, "invalid dataset '{}': image columns must be image_0 .. image_{} without gaps",
           csv.string(), image_cols.size() - 1);
  if (ds.channel_names.empty())
    for (size_t c = 0; c < image_cols.size(); ++c) ds.channel_names.push_back("unknown");
  if (ds.channel_names.size() != image_cols.size())
    fail(ExitCode::BadInput, "invalid dataset '{}': {} image columns but {} channel names in '{}'", csv.string(),
         image_cols.size(), ds.channel_names.size(), dataset_json);
  const fs::path base = csv.parent_path();
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto cells = split_csv_line(line);
    if (cells.size() != header.size())
      fail(ExitCode::BadInput, "invalid dataset '{}': row {} has {} cells, the header has {}", csv.string(), row,
           cells.size(), header.size());
    TrainCase c;
    for (const auto& [ch, col] : image_cols) c.images.push_back(resolve(base, cells[size_t(col)]));
    c.label = resolve(base, cells[size_t(label_col)]);
    c.name = case_col >= 0 && !cells[size_t(case_col)].empty() ? cells[size_t(case_col)]
                                                             : stem_without_extension(c.label);
    ds.cases.push_back(std::move(c));
  }
  if (ds.cases.empty()) fail(ExitCode::BadInput, "invalid dataset '{}': no case rows", csv.string());
  return ds;
}

Dataset read_folder_dataset(const fs::path& dir) {
  const fs::path json_path = dir / "dataset.json";
  if (!fs::exists(json_path))
    fail(ExitCode::BadInput, "invalid dataset '{}': no dataset.json (expected the nnU-Net layout: dataset.json, "
         "imagesTr/, labelsTr/)", dir.string());
  Dataset ds;
  ds.root = dir.string();
  const Json j = read_json_file(json_path.string(), ExitCode::BadInput);
  try {
    parse_dataset_json(j, ds);
  } catch (const std::invalid_argument& e) {
    fail(ExitCode::BadInput, "invalid dataset description '{}': {}", json_path.string(), e.what());
  }
  if (ds.channel_names.empty())
    fail(ExitCode::BadInput, "invalid dataset description '{}': channel_names is missing or empty",
         json_path.string());
  const fs::path labels_dir = dir / "labelsTr", images_dir = dir / "imagesTr";
  if (!fs::is_directory(labels_dir) || !fs::is_directory(images_dir))
    fail(ExitCode::BadInput, "invalid dataset '{}': imagesTr/ or labelsTr/ is missing", dir.string());
  std::vector<fs::path> labels;
  for (const auto& e : fs::directory_iterator(labels_dir)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (name.size() > ds.file_ending.size() &&
        name.compare(name.size() - ds.file_ending.size(), ds.file_ending.size(), ds.file_ending) == 0)
      labels.push_back(e.path());
  }
  std::sort(labels.begin(), labels.end());
  if (labels.empty())
    fail(ExitCode::BadInput, "invalid dataset '{}': no '*{}' files in labelsTr/", dir.string(), ds.file_ending);
  for (const auto& l : labels) {
    TrainCase c;
    const std::string name = l.filename().string();
    c.name = name.substr(0, name.size() - ds.file_ending.size());
    c.label = l.string();
    for (size_t ch = 0; ch < ds.channel_names.size(); ++ch) {
      const std::string stem = fmt::format("{}_{:04d}", c.name, ch);
      const fs::path file = images_dir / (stem + ds.file_ending);
      const fs::path dicom = images_dir / stem;
      c.images.push_back(!fs::exists(file) && fs::is_directory(dicom) ? dicom.string() : file.string());
    }
    ds.cases.push_back(std::move(c));
  }
  return ds;
}

}  // namespace

void parse_dataset_json(const Json& json, Dataset& ds) {
  if (!json.is_object()) throw std::invalid_argument("expected a JSON object");
  if (const Json* ch = json.find("channel_names")) {
    if (!ch->is_object()) throw std::invalid_argument("channel_names must be an object {\"0\": \"CT\", ...}");
    std::map<int, std::string> by_index;
    for (const auto& [k, v] : ch->as_object()) {
      int idx = -1;
      try {
        idx = std::stoi(k);
      } catch (const std::exception&) {
      }
      if (idx < 0 || std::to_string(idx) != k) throw std::invalid_argument("channel_names key '" + k + "' is not an index");
      if (!v.is_string()) throw std::invalid_argument("channel_names['" + k + "'] must be a string");
      by_index[idx] = v.as_string();
    }
    ds.channel_names.clear();
    int expect = 0;
    for (const auto& [i, n] : by_index) {
      if (i != expect++) throw std::invalid_argument("channel_names must be numbered 0..N-1 without gaps");
      ds.channel_names.push_back(n);
    }
  }
  const Json* labels = json.find("labels");
  if (!labels || !labels->is_object() || labels->size() == 0)
    throw std::invalid_argument("labels must be an object {\"background\": 0, \"name\": id, ...}");
  ds.labels.clear();
  for (const auto& [name, v] : labels->as_object()) {
    if (!v.is_int())
      throw std::invalid_argument("label '" + name + "' must be an integer id (region labels are not supported)");
    if (v.as_int() < 0 || v.as_int() > 32767) throw std::invalid_argument("label '" + name + "' id out of range");
    ds.labels.push_back({v.as_int(), name});
  }
  std::sort(ds.labels.begin(), ds.labels.end(), [](const LabelDef& a, const LabelDef& b) { return a.id < b.id; });
  if (ds.labels.front().id != 0) throw std::invalid_argument("labels must include background with id 0");
  for (size_t i = 1; i < ds.labels.size(); ++i)
    if (ds.labels[i].id == ds.labels[i - 1].id)
      throw std::invalid_argument("labels '" + ds.labels[i - 1].name + "' and '" + ds.labels[i].name +
                                  "' share id " + std::to_string(ds.labels[i].id));
  if (const Json* fe = json.find("file_ending")) {
    if (!fe->is_string() || fe->as_string().empty()) throw std::invalid_argument("file_ending must be a string");
    ds.file_ending = fe->as_string();
  }
  for (const char* key : {"instances", "instance_labels"}) {  // voxseg phantom writes instance_labels
    if (const Json* inst = json.find(key)) {
      if (!inst->is_bool()) throw std::invalid_argument(std::string(key) + " must be true or false");
      ds.instances = ds.instances || inst->as_bool();
    }
  }
}

Dataset read_dataset(const std::string& path, const std::string& dataset_json) {
  const fs::path p(path);
  if (!fs::exists(p)) fail(ExitCode::BadInput, "cannot read dataset '{}': no such file or folder", path);
  if (fs::is_directory(p)) return read_folder_dataset(p);
  if (p.extension() == ".csv") return read_csv_dataset(p, dataset_json);
  fail(ExitCode::BadInput, "cannot read dataset '{}': expected a folder with dataset.json or a .csv file", path);
}

std::vector<std::string> check_case(const std::vector<Volume>& images, const Volume& label, const Dataset& ds) {
  std::vector<std::string> problems;
  if (images.size() != ds.channel_names.size())
    problems.push_back(fmt::format("{} image channels, dataset declares {}", images.size(), ds.channel_names.size()));
  if (images.empty()) return problems;
  for (size_t c = 0; c < images.size(); ++c) {
    if (images[c].has_channels())
      problems.push_back(fmt::format("channel {} is a vector image; give one file per channel", c));
    if (c > 0 && !same_geometry(images[0].geometry, images[c].geometry))
      problems.push_back(fmt::format("channel {} geometry differs from channel 0: {}", c,
                                     describe_geometry_difference(images[0].geometry, images[c].geometry)));
  }
  if (!same_geometry(images[0].geometry, label.geometry))
    problems.push_back(fmt::format("label geometry differs from the image: {}",
                                   describe_geometry_difference(images[0].geometry, label.geometry)));
  if (!label.data.defined() || label.data.numel() == 0) {
    problems.push_back("label map is empty");
    return problems;
  }
  if (at::isFloatingType(label.data.scalar_type())) {
    const auto rounded = label.data.round();
    if (!rounded.equal(label.data)) problems.push_back("label map has non-integer values");
  }
  const auto values = std::get<0>(at::_unique(label.data.to(at::kLong).flatten(), /*sorted=*/true));
  const auto acc = values.contiguous();
  const int64_t* v = acc.data_ptr<int64_t>();
  std::vector<int64_t> undeclared;
  for (int64_t i = 0; i < acc.numel(); ++i) {
    if (ds.instances) {
      if (v[i] < 0) undeclared.push_back(v[i]);
      continue;
    }
    const bool known = std::any_of(ds.labels.begin(), ds.labels.end(), [&](const LabelDef& l) { return l.id == v[i]; });
    if (!known) undeclared.push_back(v[i]);
  }
  if (!undeclared.empty()) {
    std::string list;
    for (size_t i = 0; i < undeclared.size() && i < 8; ++i) list += (i ? ", " : "") + std::to_string(undeclared[i]);
    if (undeclared.size() > 8) list += ", ...";
    problems.push_back(ds.instances ? fmt::format("instance label map has negative values ({})", list)
                                    : fmt::format("label values not declared in dataset.json: {}", list));
  }
  return problems;
}

Json dataset_to_json(const Dataset& ds) {
  Json j = Json::object();
  Json ch = Json::object();
  for (size_t i = 0; i < ds.channel_names.size(); ++i) ch[std::to_string(i)] = ds.channel_names[i];
  j["channel_names"] = ch;
  Json labels = Json::object();
  for (const auto& l : ds.labels) labels[l.name] = l.id;
  j["labels"] = labels;
  j["numTraining"] = int64_t(ds.cases.size());
  j["file_ending"] = ds.file_ending;
  if (ds.instances) j["instances"] = true;
  return j;
}

}  // namespace voxseg::train
