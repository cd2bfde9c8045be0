#pragma once
// Strict typed readers for JSON files that users edit (model.json, the training plan, label tables,
// the parts of nnU-Net files whose schema voxseg owns). Every failure throws std::invalid_argument
// whose message starts with "field '<path>'" ("field 'labels[1].id': expected an integer, found
// string"), so the caller can name the file and the field in one line. Unknown keys are errors
// (reject_unknown_members), not silently ignored.
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "voxseg/core/json.h"

namespace voxseg::json {

[[noreturn]] void field_error(const std::string& field, const std::string& what);

/// "a.b" / "a[3]" paths for messages.
std::string join_field(const std::string& parent, std::string_view key);
std::string index_field(const std::string& parent, size_t index);

/// The member `key` of object `obj` (whose own path is `path`), or a "missing" error (null counts as missing).
const Json& require_member(const Json& obj, std::string_view key, const std::string& path);
/// The member `key`, or nullptr when it is absent or null.
const Json* optional_member(const Json& obj, std::string_view key);
void require_object(const Json& value, const std::string& field);
/// Fails naming the first member of `obj` not in `known` (misspelt keys are errors, not ignored).
void reject_unknown_members(const Json& obj, std::initializer_list<std::string_view> known,
                            const std::string& path);

int64_t read_int(const Json& value, const std::string& field);
double read_number(const Json& value, const std::string& field);  ///< finite numbers only
bool read_bool(const Json& value, const std::string& field);
std::string read_string(const Json& value, const std::string& field);
/// Lists; expected_size < 0 accepts any length.
std::vector<int64_t> read_int_list(const Json& value, const std::string& field, int64_t expected_size = -1);
std::vector<double> read_number_list(const Json& value, const std::string& field,
                                     int64_t expected_size = -1);
std::vector<std::string> read_string_list(const Json& value, const std::string& field);
std::vector<bool> read_bool_list(const Json& value, const std::string& field);
/// A list of int lists (one per stage, say), each with `inner_size` entries unless it is < 0.
std::vector<std::vector<int64_t>> read_int_lists(const Json& value, const std::string& field,
                                                 int64_t inner_size = -1);

/// A JSON array of the values of any range of numbers, strings or bools ([1, 2, 3]).
template <typename Range>
Json array_of(const Range& values) {
  Json out = Json::array();
  for (const auto& v : values) out.push_back(Json(v));
  return out;
}
/// A JSON array of arrays ([[1, 2], [3, 4]]).
template <typename Range>
Json array_of_arrays(const Range& rows) {
  Json out = Json::array();
  for (const auto& row : rows) out.push_back(array_of(row));
  return out;
}

}  // namespace voxseg::json
