#include "voxseg/metrics/labels.h"

#include <fmt/format.h>

#include <cctype>
#include <filesystem>
#include <sstream>

#include "voxseg/core/error.h"
#include "voxseg/core/json.h"
#include "voxseg/core/json_fields.h"

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

// "1" -> 1: a label id written as an object key ({"1": "liver"}).
int64_t id_from_key(const std::string& key, const std::string& field) {
  if (key.empty() || key.size() > 9 || key.find_first_not_of("0123456789") != std::string::npos)
    json::field_error(field, "expected a label id (a non-negative integer) as the key");
  return std::stoll(key);
}

std::array<uint8_t, 3> read_colour(const Json& c, const std::string& field) {
  if (!c.is_array() || c.size() != 3) json::field_error(field, "expected [r, g, b]");
  std::array<uint8_t, 3> rgb{};
  for (size_t k = 0; k < 3; ++k) {
    const int64_t v = json::read_int(c.as_array()[k], json::index_field(field, k));
    if (v < 0 || v > 255) json::field_error(json::index_field(field, k), "expected 0..255");
    rgb[k] = uint8_t(v);
  }
  return rgb;
}

// "CT", "MR" or "" from a channel name or a normalisation scheme; other names say nothing.
std::string modality_of(const std::string& name) {
  std::string u;
  for (char ch : name) u += char(std::toupper(static_cast<unsigned char>(ch)));
  if (u == "CT" || u.rfind("CT-", 0) == 0 || u.rfind("CT_", 0) == 0) return "CT";
  for (const char* mr : {"MR", "MRI", "T1", "T1W", "T1CE", "T1C", "T2", "T2W", "FLAIR", "ADC", "DWI", "PD"})
    if (u == mr || u.rfind(std::string(mr) + "-", 0) == 0 || u.rfind(std::string(mr) + "_", 0) == 0) return "MR";
  return "";
}

// What the table's file says about the image (hints, not checked strictly): phantom.json's
// "kind", model.json's first channel (name or "ct" normalisation), dataset.json's channel_names.
std::string modality_hint(const Json& doc) {
  if (const Json* kind = doc.find("kind"); kind && kind->is_string()) {
    const std::string m = modality_of(kind->as_string());
    return m.empty() ? kind->as_string() : m;  // "cells": not CT
  }
  if (const Json* ch = doc.find("channels"); ch && ch->is_array() && ch->size() > 0 && ch->as_array()[0].is_object()) {
    const Json& c = ch->as_array()[0];
    if (const Json* n = c.find("normalization"); n && n->is_object())
      if (const Json* scheme = n->find("scheme"); scheme && scheme->is_string() && scheme->as_string() == "ct")
        return "CT";
    if (const Json* name = c.find("name"); name && name->is_string()) return modality_of(name->as_string());
  }
  for (const char* key : {"channel_names", "modality"})
    if (const Json* ch = doc.find(key); ch && ch->is_object() && ch->size() > 0) {
      const Json& first = ch->as_object().begin()->second;
      if (first.is_string()) return modality_of(first.as_string());
    }
  return "";
}

}  // namespace

std::map<int64_t, std::string> read_label_table(const std::string& path) { return read_label_info(path).names; }

LabelInfo read_label_info(const std::string& path_text) {
  fs::path path = path_text;
  if (fs::is_directory(path)) path /= "model.json";
  const Json doc = read_json_file(path.string(), ExitCode::BadInput);
  LabelInfo info;
  auto& table = info.names;
  try {
    const char* key = doc.find("labels") ? "labels" : "label_table";
    const Json* labels = doc.find(key);
    if (!labels) fail(ExitCode::BadInput, "no label table in '{}' (expected \"labels\" or \"label_table\")", path.string());
    if (labels->is_array()) {  // model.json / phantom.json: [{id, name}, ...] (voxseg's schema: strict)
      for (size_t i = 0; i < labels->size(); ++i) {
        const Json& e = labels->as_array()[i];
        const std::string f = json::index_field(key, i);
        json::require_object(e, f);
        json::reject_unknown_members(e, {"id", "name", "color", "snomed"}, f);
        const int64_t id = json::read_int(json::require_member(e, "id", f), json::join_field(f, "id"));
        table[id] = json::read_string(json::require_member(e, "name", f), json::join_field(f, "name"));
        if (const Json* c = e.find("color")) info.colours[id] = read_colour(*c, json::join_field(f, "color"));
      }
    } else if (labels->is_object()) {
      for (const auto& [name, value] : labels->as_object()) {
        const std::string f = json::join_field(key, name);
        if (value.is_number()) {
          table[json::read_int(value, f)] = name;  // nnU-Net: {"liver": 1}
        } else if (value.is_string()) {
          table[id_from_key(name, f)] = value.as_string();  // {"1": "liver"}
        } else if (value.is_array()) {
          continue;  // nnU-Net region-based entries ("tumor": [1, 2]) are not single labels
        } else {
          json::field_error(f, fmt::format("expected a label id, a name or a list of ids, found {}", value.type_name()));
        }
      }
    } else {
      json::field_error(key, fmt::format("expected a list or an object, found {}", labels->type_name()));
    }
  } catch (const std::invalid_argument& e) {
    fail(ExitCode::BadInput, "bad label table in '{}': {}", path.string(), e.what());
  }
  table.erase(0);
  info.colours.erase(0);
  info.modality = modality_hint(doc);
  return info;
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
