#include "voxseg/core/json_fields.h"

#include <fmt/format.h>

#include <cmath>

namespace voxseg::json {

void field_error(const std::string& field, const std::string& what) {
  throw std::invalid_argument(fmt::format("field '{}': {}", field, what));
}

std::string join_field(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_field(const std::string& parent, size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

const Json* optional_member(const Json& obj, std::string_view key) {
  const Json* member = obj.find(key);
  return member == nullptr || member->is_null() ? nullptr : member;
}

void require_object(const Json& value, const std::string& field) {
  if (!value.is_object()) field_error(field, fmt::format("expected an object, found {}", value.type_name()));
}

const Json& require_member(const Json& obj, std::string_view key, const std::string& path) {
  const Json* member = obj.find(key);
  if (member == nullptr || member->is_null()) field_error(join_field(path, key), "required but missing");
  return *member;
}

void reject_unknown_members(const Json& obj, std::initializer_list<std::string_view> known,
                            const std::string& path) {
  for (const auto& [key, value] : obj.as_object()) {
    bool found = false;
    for (std::string_view k : known) found = found || (k == key);
    if (!found) field_error(join_field(path, key), "unknown field (misspelt?)");
  }
}

int64_t read_int(const Json& value, const std::string& field) {
  if (value.is_int()) return value.as_int();
  if (value.is_number()) {
    const double d = value.as_double();
    if (std::floor(d) == d && std::abs(d) < 9e15) return int64_t(d);
    field_error(field, fmt::format("expected an integer, found {}", d));
  }
  field_error(field, fmt::format("expected an integer, found {}", value.type_name()));
}

double read_number(const Json& value, const std::string& field) {
  if (!value.is_number()) field_error(field, fmt::format("expected a number, found {}", value.type_name()));
  const double d = value.as_double();
  if (!std::isfinite(d)) field_error(field, "expected a finite number");
  return d;
}

bool read_bool(const Json& value, const std::string& field) {
  if (!value.is_bool()) field_error(field, fmt::format("expected true or false, found {}", value.type_name()));
  return value.as_bool();
}

std::string read_string(const Json& value, const std::string& field) {
  if (!value.is_string()) field_error(field, fmt::format("expected a string, found {}", value.type_name()));
  return value.as_string();
}

namespace {
void check_list(const Json& value, const std::string& field, int64_t expected_size, const char* what) {
  if (!value.is_array()) field_error(field, fmt::format("expected a list of {}, found {}", what, value.type_name()));
  if (expected_size >= 0 && int64_t(value.size()) != expected_size)
    field_error(field, fmt::format("expected {} {}, found {}", expected_size, what, value.size()));
}
}  // namespace

std::vector<int64_t> read_int_list(const Json& value, const std::string& field, int64_t expected_size) {
  check_list(value, field, expected_size, "integers");
  std::vector<int64_t> out;
  const auto& items = value.as_array();
  for (size_t i = 0; i < items.size(); ++i) out.push_back(read_int(items[i], index_field(field, i)));
  return out;
}

std::vector<double> read_number_list(const Json& value, const std::string& field, int64_t expected_size) {
  check_list(value, field, expected_size, "numbers");
  std::vector<double> out;
  const auto& items = value.as_array();
  for (size_t i = 0; i < items.size(); ++i) out.push_back(read_number(items[i], index_field(field, i)));
  return out;
}

std::vector<std::string> read_string_list(const Json& value, const std::string& field) {
  check_list(value, field, -1, "strings");
  std::vector<std::string> out;
  const auto& items = value.as_array();
  for (size_t i = 0; i < items.size(); ++i) out.push_back(read_string(items[i], index_field(field, i)));
  return out;
}

std::vector<bool> read_bool_list(const Json& value, const std::string& field) {
  check_list(value, field, -1, "booleans");
  std::vector<bool> out;
  const auto& items = value.as_array();
  for (size_t i = 0; i < items.size(); ++i) out.push_back(read_bool(items[i], index_field(field, i)));
  return out;
}

std::vector<std::vector<int64_t>> read_int_lists(const Json& value, const std::string& field, int64_t inner_size) {
  if (!value.is_array())
    field_error(field, fmt::format("expected a list (one entry per stage), found {}", value.type_name()));
  std::vector<std::vector<int64_t>> out;
  const auto& items = value.as_array();
  for (size_t i = 0; i < items.size(); ++i) out.push_back(read_int_list(items[i], index_field(field, i), inner_size));
  return out;
}

}  // namespace voxseg::json
