#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "voxseg/core/error.h"

namespace voxseg {

/// A small JSON value: objects keep insertion order so output is deterministic.
class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : value_(b) {}
  Json(int v) : value_(int64_t(v)) {}
  Json(int64_t v) : value_(v) {}
  Json(uint64_t v) : value_(int64_t(v)) {}
  Json(long long v) : value_(int64_t(v)) {}
  Json(double v) : value_(v) {}
  Json(const char* s) : value_(std::string(s)) {}
  Json(std::string s) : value_(std::move(s)) {}
  Json(std::string_view s) : value_(std::string(s)) {}
  Json(Array a) : value_(std::move(a)) {}
  static Json object() { Json j; j.value_ = Object{}; return j; }
  static Json array() { Json j; j.value_ = Array{}; return j; }

  bool is_null() const { return std::holds_alternative<std::monostate>(value_); }
  bool is_bool() const { return std::holds_alternative<bool>(value_); }
  bool is_int() const { return std::holds_alternative<int64_t>(value_); }
  bool is_number() const { return is_int() || std::holds_alternative<double>(value_); }
  bool is_string() const { return std::holds_alternative<std::string>(value_); }
  bool is_array() const { return std::holds_alternative<Array>(value_); }
  bool is_object() const { return std::holds_alternative<Object>(value_); }
  /// "null", "bool", "number", "string", "array", "object".
  const char* type_name() const;

  /// Accessors throw std::invalid_argument on a type mismatch (callers turn it into their Error).
  bool as_bool() const;
  double as_double() const;
  int64_t as_int() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Object& as_object() const;

  /// Object access: find returns nullptr when absent; operator[] inserts (turning null into object).
  const Json* find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  Json& operator[](std::string_view key);
  /// Appends to an array (turning null into array).
  Json& push_back(Json v);
  size_t size() const;

  /// indent < 0: one line; otherwise pretty-printed with that many spaces.
  std::string dump(int indent = -1) const;
  /// Throws std::invalid_argument with "line L, column C: what".
  static Json parse(std::string_view text);

 private:
  void dump_to(std::string& out, int indent, int depth) const;
  std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object> value_;
};

/// Reads and parses a JSON file; throws Error(code) naming the file and the problem.
Json read_json_file(const std::string& path, ExitCode code);

}  // namespace voxseg
