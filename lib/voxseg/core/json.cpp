#include "voxseg/core/json.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
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
class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Json parse_document() {
    Json v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) error("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    int line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') { ++line; col = 1; } else ++col;
    }
    throw std::invalid_argument(fmt::format("line {}, column {}: {}", line, col, what));
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
      ++pos_;
  }
  bool consume(std::string_view word) {
    if (s_.substr(pos_, word.size()) == word) { pos_ += word.size(); return true; }
    return false;
  }
  Json parse_value(int depth) {
    if (depth > 256) error("nesting too deep");
    skip_ws();
    if (pos_ >= s_.size()) error("unexpected end of input");
    const char c = s_[pos_];
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') return Json(parse_string());
    if (consume("true")) return Json(true);
    if (consume("false")) return Json(false);
    if (consume("null")) return Json();
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    if (consume("NaN")) return Json(std::nan(""));
    error(fmt::format("unexpected character '{}'", c));
  }
  Json parse_object(int depth) {
    ++pos_;
    Json obj = Json::object();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return obj; }
    while (true) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') error("expected a string key");
      std::string key = parse_string();
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') error("expected ':'");
      ++pos_;
      obj[key] = parse_value(depth + 1);
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return obj; }
      error("expected ',' or '}'");
    }
  }
  Json parse_array(int depth) {
    ++pos_;
    Json arr = Json::array();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; return arr; }
    while (true) {
      arr.push_back(parse_value(depth + 1));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; return arr; }
      error("expected ',' or ']'");
    }
  }
  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) out += char(cp);
    else if (cp < 0x800) { out += char(0xC0 | (cp >> 6)); out += char(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12)); out += char(0x80 | ((cp >> 6) & 0x3F)); out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18)); out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F)); out += char(0x80 | (cp & 0x3F));
    }
  }
  uint32_t parse_hex4() {
    if (pos_ + 4 > s_.size()) error("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= uint32_t(h - '0');
      else if (h >= 'a' && h <= 'f') v |= uint32_t(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= uint32_t(h - 'A' + 10);
      else error("bad \\u escape");
    }
    return v;
  }
  std::string parse_string() {
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) error("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (c != '\\') { out += c; continue; }
      if (pos_ >= s_.size()) error("unterminated string");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = parse_hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && consume("\\u")) {
            const uint32_t lo = parse_hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: error(fmt::format("bad escape '\\{}'", e));
      }
    }
  }
  Json parse_number() {
    const size_t start = pos_;
    bool integer = true;
    if (s_[pos_] == '-') ++pos_;
    if (consume("Infinity")) return Json(s_[start] == '-' ? -HUGE_VAL : HUGE_VAL);
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c >= '0' && c <= '9') ++pos_;
      else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') { integer = false; ++pos_; }
      else break;
    }
    const std::string token(s_.substr(start, pos_ - start));
    char* end = nullptr;
    if (integer && token.size() < 19) {
      const long long v = std::strtoll(token.c_str(), &end, 10);
      if (end && *end == '\0') return Json(int64_t(v));
    }
    const double d = std::strtod(token.c_str(), &end);
    if (!end || *end != '\0' || token == "-") error(fmt::format("bad number '{}'", token));
    return Json(d);
  }

  std::string_view s_;
  size_t pos_ = 0;
};
}  // namespace

Json Json::parse(std::string_view text) { return Parser(text).parse_document(); }

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
