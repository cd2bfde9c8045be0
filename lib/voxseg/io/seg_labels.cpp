#include "voxseg/io/seg_labels.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "voxseg/core/error.h"

namespace fs = std::filesystem;

namespace voxseg::io {
namespace {

const CodedConcept kAnatomical{"91723000", "SCT", "Anatomical Structure"};
const CodedConcept kAltered{"49755003", "SCT", "Morphologically Altered Structure"};
const CodedConcept kTissue{"85756007", "SCT", "Tissue"};
const CodedConcept kNeoplasm{"108369006", "SCT", "Neoplasm"};

// Organs and lesions by normalized name. Codes: SNOMED CT concepts as DICOM CID 7150/7151 list them.
const std::vector<KnownLabel>& table() {
  static const std::vector<KnownLabel> t = [] {
    auto organ = [](const std::string& name, const std::string& code, const std::string& meaning) {
      return KnownLabel{name, kAnatomical, {code, "SCT", meaning}, std::nullopt};
    };
    auto altered = [](const std::string& name, const std::string& code, const std::string& meaning) {
      return KnownLabel{name, kAltered, {code, "SCT", meaning}, std::nullopt};
    };
    return std::vector<KnownLabel>{
        organ("liver", "10200004", "Liver"),
        organ("spleen", "78961009", "Spleen"),
        organ("kidney", "64033007", "Kidney"),
        organ("kidney_left", "18639004", "Left kidney"),
        organ("kidney_right", "9846003", "Right kidney"),
        organ("pancreas", "15776009", "Pancreas"),
        organ("gallbladder", "28231008", "Gallbladder"),
        organ("stomach", "69695003", "Stomach"),
        organ("esophagus", "32849002", "Esophagus"),
        organ("aorta", "15825003", "Aorta"),
        organ("heart", "80891009", "Heart"),
        organ("lung", "39607008", "Lung"),
        organ("brain", "12738006", "Brain"),
        organ("urinary_bladder", "89837001", "Urinary bladder"),
        organ("prostate", "41216001", "Prostate"),
        altered("tumor", "108369006", "Neoplasm"),
        altered("edema", "79654002", "Edema"),
        altered("necrosis", "6574001", "Necrosis"),
    };
  }();
  return t;
}

// "Kidney (Left)" -> {"kidney", "left"}.
std::vector<std::string> words(const std::string& name) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : name + " ") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  return out;
}

// Synonyms folded onto the table's words.
std::string canonical(std::string w) {
  if (w == "tumour" || w == "tumors" || w == "tumours" || w == "neoplasm" || w == "lesion" || w == "lesions" ||
      w == "cancer" || w == "mass" || w == "metastasis" || w == "metastases")
    return "tumor";
  if (w == "kidneys") return "kidney";
  if (w == "lungs") return "lung";
  if (w == "gall") return "gallbladder";
  if (w == "bladder") return "urinary_bladder";
  if (w == "oesophagus") return "esophagus";
  if (w == "oedema") return "edema";
  if (w == "l") return "left";
  if (w == "r") return "right";
  return w;
}

const KnownLabel* find_known(const std::string& key) {
  for (const auto& k : table())
    if (k.name == key) return &k;
  return nullptr;
}

// The organ a set of words names ("kidney" + "left" -> kidney_left), or null.
const KnownLabel* organ_of(const std::set<std::string>& w) {
  for (const std::string side : {"left", "right"})
    if (w.count(side))
      for (const auto& k : table())
        if (k.name.size() > side.size() && k.name.compare(k.name.size() - side.size(), side.size(), side) == 0 &&
            w.count(k.name.substr(0, k.name.size() - side.size() - 1)))
          return &k;
  for (const auto& k : table())
    if (k.category.code == kAnatomical.code && w.count(k.name)) return &k;
  return nullptr;
}

const std::array<std::array<int, 3>, 12> kPalette{{{221, 130, 101},
                                                   {157, 108, 162},
                                                   {185, 102, 83},
                                                   {212, 126, 151},
                                                   {255, 255, 0},
                                                   {128, 174, 128},
                                                   {241, 214, 145},
                                                   {177, 122, 101},
                                                   {111, 184, 210},
                                                   {216, 101, 79},
                                                   {220, 245, 20},
                                                   {0, 151, 206}}};

double srgb_to_linear(double c) { return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); }
double linear_to_srgb(double c) { return c <= 0.0031308 ? 12.92 * c : 1.055 * std::pow(c, 1 / 2.4) - 0.055; }
constexpr double kXn = 0.95047, kYn = 1.0, kZn = 1.08883, kDelta = 6.0 / 29.0;
double lab_f(double t) { return t > kDelta * kDelta * kDelta ? std::cbrt(t) : t / (3 * kDelta * kDelta) + 4.0 / 29.0; }
double lab_f_inv(double t) { return t > kDelta ? t * t * t : 3 * kDelta * kDelta * (t - 4.0 / 29.0); }

// ---- label-table files (strict) ----
using nlohmann::json;

[[noreturn]] void table_error(const fs::path& file, const std::string& where, const std::string& what) {
  fail(ExitCode::BadInput, "{}: {}{}{}", file.string(), where, where.empty() ? "" : ": ", what);
}

CodedConcept read_concept(const json& j, const fs::path& file, const std::string& where) {
  if (!j.is_object()) table_error(file, where, "expected an object {code, scheme, meaning}");
  CodedConcept c;
  for (const auto& [key, value] : j.items()) {
    const std::string at = where + "." + key;
    if (key != "code" && key != "scheme" && key != "meaning") table_error(file, at, "unknown key");
    if (!value.is_string()) table_error(file, at, "expected a string");
    (key == "code" ? c.code : key == "scheme" ? c.scheme : c.meaning) = value.get<std::string>();
  }
  if (c.code.empty()) table_error(file, where + ".code", "missing or empty");
  if (c.meaning.empty()) table_error(file, where + ".meaning", "missing or empty");
  return c;
}

int64_t read_label_id(const json& j, const fs::path& file, const std::string& where) {
  if (!j.is_number_integer() || j.get<int64_t>() < 0 || j.get<int64_t>() > 65535)
    table_error(file, where, "expected an integer label value 0..65535");
  return j.get<int64_t>();
}

SegmentInfo read_entry(const json& e, const fs::path& file, const std::string& where) {
  if (!e.is_object()) table_error(file, where, "expected an object {id, name, color?, snomed?}");
  std::optional<int64_t> id;
  std::string name;
  std::optional<std::array<int, 3>> color;
  std::optional<CodedConcept> code;
  for (const auto& [key, value] : e.items()) {
    const std::string at = where + "." + key;
    if (key == "id") {
      id = read_label_id(value, file, at);
    } else if (key == "name") {
      if (!value.is_string() || value.get<std::string>().empty()) table_error(file, at, "expected a non-empty string");
      name = value.get<std::string>();
    } else if (key == "color") {
      if (value.is_null()) continue;
      if (!value.is_array() || value.size() != 3) table_error(file, at, "expected [r, g, b]");
      std::array<int, 3> rgb{};
      for (size_t i = 0; i < 3; ++i) {
        if (!value[i].is_number_integer() || value[i].get<int>() < 0 || value[i].get<int>() > 255)
          table_error(file, at + "[" + std::to_string(i) + "]", "expected an integer 0..255");
        rgb[i] = value[i].get<int>();
      }
      color = rgb;
    } else if (key == "snomed") {
      if (!value.is_null()) code = read_concept(value, file, at);
    } else {
      table_error(file, at, "unknown key");
    }
  }
  if (!id) table_error(file, where + ".id", "missing");
  if (name.empty()) table_error(file, where + ".name", "missing");
  return default_segment(*id, name, color, code);
}

}  // namespace

const std::vector<KnownLabel>& known_labels() { return table(); }

SegmentInfo default_segment(int64_t label, const std::string& name, const std::optional<std::array<int, 3>>& color,
                            const std::optional<CodedConcept>& code) {
  SegmentInfo s;
  s.label = label;
  s.name = name.empty() ? "label " + std::to_string(label) : name;
  s.color = color ? color : std::optional<std::array<int, 3>>(kPalette[size_t(std::max<int64_t>(label - 1, 0)) % kPalette.size()]);
  std::set<std::string> w;
  for (const auto& x : words(s.name)) w.insert(canonical(x));
  const KnownLabel* known = nullptr;
  const KnownLabel* region = nullptr;
  if (w.count("tumor")) {
    known = find_known("tumor");
    region = organ_of(w);
  } else if (w.count("edema") || w.count("necrosis")) {
    known = find_known(w.count("edema") ? "edema" : "necrosis");
    region = organ_of(w);
  } else {
    known = organ_of(w);
  }
  s.category = known ? known->category : kTissue;
  s.type = known ? known->type : kTissue;
  if (region) s.anatomic_region = region->type;
  if (code) {  // an explicit code in the label table names the property type
    s.type = *code;
    if (!known) s.category = kAnatomical;
  }
  return s;
}

std::vector<SegmentInfo> read_seg_label_table(const fs::path& path) {
  std::error_code ec;
  const fs::path file = fs::is_directory(path, ec) ? path / "model.json" : path;
  std::ifstream in(file);
  if (!in) fail(ExitCode::BadInput, "cannot read label table '{}': no such file", file.string());
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    fail(ExitCode::BadInput, "{}: not valid JSON ({})", file.string(), e.what());
  }
  if (!doc.is_object()) table_error(file, "", "expected a JSON object with \"labels\"");
  const char* key = doc.contains("labels") ? "labels" : doc.contains("label_table") ? "label_table" : nullptr;
  if (!key) table_error(file, "", "no label table (expected \"labels\" or \"label_table\")");
  const json& labels = doc[key];
  std::vector<SegmentInfo> out;
  std::set<int64_t> seen;
  auto add = [&](SegmentInfo s, const std::string& where) {
    if (!seen.insert(s.label).second) table_error(file, where, "label " + std::to_string(s.label) + " listed twice");
    if (s.label != 0) out.push_back(std::move(s));
  };
  if (labels.is_array()) {  // model.json / phantom.json
    for (size_t i = 0; i < labels.size(); ++i) {
      const std::string where = std::string(key) + "[" + std::to_string(i) + "]";
      add(read_entry(labels[i], file, where), where);
    }
  } else if (labels.is_object()) {
    for (const auto& [name, value] : labels.items()) {
      const std::string where = std::string(key) + "." + name;
      if (value.is_number_integer()) {  // nnU-Net dataset.json: {"liver": 1}
        add(default_segment(read_label_id(value, file, where), name), where);
      } else if (value.is_array()) {
        continue;  // nnU-Net region entries ("tumor": [1, 2]) are not single labels
      } else if (value.is_string()) {  // {"1": "liver"}
        char* end = nullptr;
        const long long id = std::strtoll(name.c_str(), &end, 10);
        if (name.empty() || *end != '\0' || id < 0 || id > 65535)
          table_error(file, where, "key is not a label value 0..65535");
        add(default_segment(id, value.get<std::string>()), where);
      } else {
        table_error(file, where, "expected a label value or a name");
      }
    }
  } else {
    table_error(file, key, "expected a list of {id, name} or an object");
  }
  std::sort(out.begin(), out.end(), [](const SegmentInfo& a, const SegmentInfo& b) { return a.label < b.label; });
  return out;
}

std::array<int, 3> rgb_to_dicom_lab(const std::array<int, 3>& rgb) {
  const double r = srgb_to_linear(rgb[0] / 255.0), g = srgb_to_linear(rgb[1] / 255.0),
               b = srgb_to_linear(rgb[2] / 255.0);
  const double x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
  const double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
  const double z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
  const double fx = lab_f(x / kXn), fy = lab_f(y / kYn), fz = lab_f(z / kZn);
  const double L = 116 * fy - 16, A = 500 * (fx - fy), B = 200 * (fy - fz);
  auto clamp16 = [](double v) { return static_cast<int>(std::lround(std::clamp(v, 0.0, 65535.0))); };
  return {clamp16(L * 65535.0 / 100.0), clamp16((A + 128) * 65535.0 / 255.0), clamp16((B + 128) * 65535.0 / 255.0)};
}

std::array<int, 3> dicom_lab_to_rgb(const std::array<int, 3>& lab) {
  const double L = lab[0] * 100.0 / 65535.0, A = lab[1] * 255.0 / 65535.0 - 128, B = lab[2] * 255.0 / 65535.0 - 128;
  const double fy = (L + 16) / 116, fx = fy + A / 500, fz = fy - B / 200;
  const double x = kXn * lab_f_inv(fx), y = kYn * lab_f_inv(fy), z = kZn * lab_f_inv(fz);
  const double r = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z;
  const double g = -0.9692660 * x + 1.8760108 * y + 0.0415560 * z;
  const double b = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z;
  auto to8 = [](double v) { return static_cast<int>(std::lround(std::clamp(linear_to_srgb(std::clamp(v, 0.0, 1.0)), 0.0, 1.0) * 255)); };
  return {to8(r), to8(g), to8(b)};
}

}  // namespace voxseg::io
