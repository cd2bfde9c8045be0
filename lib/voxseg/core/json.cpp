#include "voxseg/core/json.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <climits>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "voxseg/core/error.h"

namespace voxseg {

const char* Json::type_name() const {
  if (is_null()) return "null";
  if (is_bool()) return "bool";
  if (is_number()) return "number";
  if (is_string()) return "string";
  if (is_array()) return "array";
  return "object";
}

namespace {
[[noreturn]] void type_error(const char* want, const Json& j) {
  throw std::invalid_argument(fmt::format("expected {}, found {}", want, j.type_name()));
}
}  // namespace

bool Json::as_bool() const {
  if (!is_bool()) type_error("a boolean", *this);
  return std::get<bool>(value_);
}
double Json::as_double() const {
  if (is_int()) return double(std::get<int64_t>(value_));
  if (!is_number()) type_error("a number", *this);
  return std::get<double>(value_);
}
int64_t Json::as_int() const {
  if (is_int()) return std::get<int64_t>(value_);
  if (std::holds_alternative<double>(value_)) {
    const double d = std::get<double>(value_);
    if (std::floor(d) == d && std::abs(d) < 9e15) return int64_t(d);
  }
  type_error("an integer", *this);
}
const std::string& Json::as_string() const {
  if (!is_string()) type_error("a string", *this);
  return std::get<std::string>(value_);
}
const Json::Array& Json::as_array() const {
  if (!is_array()) type_error("an array", *this);
  return std::get<Array>(value_);
}
Json::Array& Json::as_array() {
  if (!is_array()) type_error("an array", *this);
  return std::get<Array>(value_);
}
const Json::Object& Json::as_object() const {
  if (!is_object()) type_error("an object", *this);
  return std::get<Object>(value_);
}

const Json* Json::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : std::get<Object>(value_))
    if (k == key) return &v;
  return nullptr;
}

Json& Json::operator[](std::string_view key) {
  if (is_null()) value_ = Object{};
  if (!is_object()) type_error("an object", *this);
  auto& obj = std::get<Object>(value_);
  for (auto& [k, v] : obj)
    if (k == key) return v;
  obj.emplace_back(std::string(key), Json());
  return obj.back().second;
}

Json& Json::push_back(Json v) {
  if (is_null()) value_ = Array{};
  auto& arr = as_array();
  arr.push_back(std::move(v));
  return arr.back();
}

size_t Json::size() const {
  if (is_array()) return std::get<Array>(value_).size();
  if (is_object()) return std::get<Object>(value_).size();
  return 0;
}

namespace {
void dump_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += char(c);
    }
  }
  out += '"';
}

void newline(std::string& out, int indent, int depth) {
  if (indent < 0) return;
  out += '\n';
  out.append(size_t(indent * depth), ' ');
}
}  // namespace

void Json::dump_to(std::string& out, int indent, int depth) const {
  if (is_null()) out += "null";
  else if (is_bool()) out += std::get<bool>(value_) ? "true" : "false";
  else if (is_int()) out += std::to_string(std::get<int64_t>(value_));
  else if (std::holds_alternative<double>(value_)) {
    const double d = std::get<double>(value_);
    if (!std::isfinite(d)) out += "null";
    else if (std::floor(d) == d && std::abs(d) < 1e15) out += fmt::format("{:.1f}", d);
    else out += fmt::format("{}", d);
  } else if (is_string()) dump_string(out, std::get<std::string>(value_));
  else if (is_array()) {
    const auto& arr = std::get<Array>(value_);
    out += '[';
    for (size_t i = 0; i < arr.size(); ++i) {
      if (i) out += indent < 0 ? ", " : ",";
      newline(out, indent, depth + 1);
      arr[i].dump_to(out, indent, depth + 1);
    }
    if (!arr.empty()) newline(out, indent, depth);
    out += ']';
  } else {
    const auto& obj = std::get<Object>(value_);
    out += '{';
    for (size_t i = 0; i < obj.size(); ++i) {
      if (i) out += indent < 0 ? ", " : ",";
      newline(out, indent, depth + 1);
      dump_string(out, obj[i].first);
      out += ": ";
      obj[i].second.dump_to(out, indent, depth + 1);
    }
    if (!obj.empty()) newline(out, indent, depth);
    out += '}';
  }
}

std::string Json::dump(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

namespace {
// Builds a Json tree from nlohmann's SAX events: nlohmann does the lexing and the strict grammar
// (no NaN, no trailing commas, no comments, valid UTF-8), this keeps voxseg's value tree and key order.
class TreeBuilder {
 public:
  using json = nlohmann::json;
  Json root;
  std::string error;

  bool null() { return put(Json()); }
  bool boolean(bool v) { return put(Json(v)); }
  bool number_integer(json::number_integer_t v) { return put(Json(int64_t(v))); }
  bool number_unsigned(json::number_unsigned_t v) {
    return put(v <= uint64_t(INT64_MAX) ? Json(int64_t(v)) : Json(double(v)));
  }
  bool number_float(json::number_float_t v, const json::string_t&) { return put(Json(double(v))); }
  bool string(json::string_t& v) { return put(Json(std::move(v))); }
  bool binary(json::binary_t&) { return false; }  // never produced by the JSON text parser
  bool start_object(std::size_t) { return open(Json::object()); }
  bool key(json::string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t, const std::string&, const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 2, column 5: syntax error ..." ->
    // "line 2, column 5: syntax error ..."
    std::string what = e.what();
    for (const char* prefix : {"parse error at ", "parse error: "}) {
      if (const size_t at = what.find(prefix); at != std::string::npos) {
        what = what.substr(at + std::char_traits<char>::length(prefix));
        break;
      }
    }
    error = what;
    return false;
  }

 private:
  static constexpr size_t kMaxDepth = 256;

  Json& slot(Json value) {
    if (open_.empty()) {
      root = std::move(value);
      return root;
    }
    Json& top = *open_.back();
    if (top.is_array()) return top.push_back(std::move(value));
    Json& member = top[key_];
    member = std::move(value);
    return member;
  }
  bool put(Json value) {
    slot(std::move(value));
    return true;
  }
  // A child container is only appended to while open, so the parents' storage does not move.
  bool open(Json container) {
    if (open_.size() >= kMaxDepth) {
      error = "nesting too deep";
      return false;
    }
    open_.push_back(&slot(std::move(container)));
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  std::vector<Json*> open_;
  std::string key_;
};
}  // namespace

Json Json::parse(std::string_view text) {
  TreeBuilder builder;
  if (!nlohmann::json::sax_parse(text.begin(), text.end(), &builder))
    throw std::invalid_argument(builder.error.empty() ? std::string("invalid JSON") : builder.error);
  return std::move(builder.root);
}

Json read_json_file(const std::string& path, ExitCode code) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(code, fmt::format("cannot read '{}': no such file", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return Json::parse(buffer.str());
  } catch (const std::invalid_argument& e) {
    throw Error(code, fmt::format("invalid JSON in '{}': {}", path, e.what()));
  }
}

}  // namespace voxseg
