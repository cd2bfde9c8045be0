#include "voxseg/metrics/labels.h"

#include <filesystem>
#include <sstream>

#include "voxseg/core/error.h"
#include "voxseg/core/json.h"

namespace fs = std::filesystem;

namespace voxseg::metrics {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, sep);) out.push_back(trim(item));
  return out;
}

int64_t parse_id(const std::string& s, const std::string& context) {
  try {
    size_t used = 0;
    const long long v = std::stoll(s, &used);
    if (used == s.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  fail(ExitCode::Usage, "bad label value '{}' in '{}' (labels are positive integers)", s, context);
}

int64_t json_id(const Json& j) {
  if (j.is_int()) return j.as_int();
  if (j.is_number()) return int64_t(j.as_double());
  if (j.is_string()) return std::stoll(j.as_string());
  throw std::invalid_argument("label id is a " + std::string(j.type_name()));
}

}  // namespace

std::map<int64_t, std::string> read_label_table(const std::string& path_text) {
  fs::path path = path_text;
  if (fs::is_directory(path)) path /= "model.json";
  const Json doc = read_json_file(path.string(), ExitCode::BadInput);
  std::map<int64_t, std::string> table;
  try {
    const Json* labels = doc.find("labels");
    if (!labels) labels = doc.find("label_table");
    if (!labels) fail(ExitCode::BadInput, "no label table in '{}' (expected \"labels\" or \"label_table\")", path.string());
    if (labels->is_array()) {  // model.json / phantom.json: [{id, name}, ...]
      for (const Json& e : labels->as_array()) {
        const Json* id = e.find("id");
        const Json* name = e.find("name");
        if (!id || !name) throw std::invalid_argument("an entry lacks \"id\" or \"name\"");
        table[json_id(*id)] = name->as_string();
      }
    } else if (labels->is_object()) {
      for (const auto& [key, value] : labels->as_object()) {
        if (value.is_number()) {
          table[json_id(value)] = key;  // nnU-Net: {"liver": 1}
        } else if (value.is_string()) {
          table[std::stoll(key)] = value.as_string();  // {"1": "liver"}
        } else if (value.is_array()) {
          continue;  // nnU-Net region-based entries ("tumor": [1, 2]) are not single labels
        } else {
          throw std::invalid_argument("entry '" + key + "' is a " + value.type_name());
        }
      }
    } else {
      throw std::invalid_argument("\"labels\" is a " + std::string(labels->type_name()));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(ExitCode::BadInput, "bad label table in '{}': {}", path.string(), e.what());
  }
  table.erase(0);
  return table;
}

std::vector<int64_t> parse_label_list(const std::string& text) {
  std::vector<int64_t> out;
  for (const auto& item : split(text, ',')) {
    if (item.empty()) continue;
    const auto dash = item.find('-', 1);
    if (dash != std::string::npos) {
      const int64_t a = parse_id(item.substr(0, dash), text), b = parse_id(item.substr(dash + 1), text);
      if (b < a || b - a > 100000) fail(ExitCode::Usage, "bad label range '{}'", item);
      for (int64_t v = a; v <= b; ++v) out.push_back(v);
    } else {
      out.push_back(parse_id(item, text));
    }
  }
  if (out.empty()) fail(ExitCode::Usage, "no labels in '{}'", text);
  return out;
}

std::vector<Region> parse_regions(const std::string& text) {
  std::vector<Region> out;
  for (const auto& item : split(text, ';')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos || trim(item.substr(0, eq)).empty())
      fail(ExitCode::Usage, "bad region '{}' (expected name=1,2,...)", item);
    out.push_back({trim(item.substr(0, eq)), parse_label_list(item.substr(eq + 1))});
  }
  if (out.empty()) fail(ExitCode::Usage, "no regions in '{}'", text);
  return out;
}

std::map<std::string, double> parse_tolerances(const std::string& text) {
  std::map<std::string, double> out;
  for (const auto& item : split(text, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    double v = -1;
    try {
      if (eq != std::string::npos) v = std::stod(item.substr(eq + 1));
    } catch (const std::exception&) {
    }
    if (eq == std::string::npos || !(v >= 0))
      fail(ExitCode::Usage, "bad tolerance '{}' (expected label=mm, e.g. 1=2.0,liver=3)", item);
    out[trim(item.substr(0, eq))] = v;
  }
  return out;
}

std::vector<Region> regions_for_labels(const std::vector<int64_t>& labels, const std::map<int64_t, std::string>& names) {
  std::vector<Region> out;
  for (int64_t v : labels) {
    const auto it = names.find(v);
    out.push_back({it != names.end() ? it->second : std::to_string(v), {v}});
  }
  return out;
}

}  // namespace voxseg::metrics
