#pragma once
// Strict readers for model.json fields: every failure throws std::invalid_argument whose message
// starts with "field '<path>'" so the bundle loader can name the file and the field in one line.
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "voxseg/core/json.h"

namespace voxseg::models::detail {

[[noreturn]] void field_error(const std::string& field, const std::string& what);

/// "a.b" / "a[3]" paths for messages.
std::string join_field(const std::string& parent, std::string_view key);
std::string index_field(const std::string& parent, size_t index);

/// The member `key` of object `obj` (whose own path is `path`), or a "missing" error.
const Json& require_member(const Json& obj, std::string_view key, const std::string& path);
void require_object(const Json& value, const std::string& field);
/// Fails naming the first member of `obj` not in `known` (misspelt keys are errors, not ignored).
void reject_unknown_members(const Json& obj, std::initializer_list<std::string_view> known,
                            const std::string& path);

int64_t read_int(const Json& value, const std::string& field);
double read_number(const Json& value, const std::string& field);
bool read_bool(const Json& value, const std::string& field);
std::string read_string(const Json& value, const std::string& field);
/// A list of integers; expected_size < 0 accepts any length.
std::vector<int64_t> read_int_list(const Json& value, const std::string& field, int64_t expected_size = -1);
std::vector<double> read_number_list(const Json& value, const std::string& field,
                                     int64_t expected_size = -1);

}  // namespace voxseg::models::detail
