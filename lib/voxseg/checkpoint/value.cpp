#include "voxseg/checkpoint/value.h"

#include <fmt/format.h>

#include "voxseg/core/error.h"

namespace voxseg::checkpoint {
namespace {

// Index key for dict de-duplication; only str and int keys are hashed (others are appended).
bool index_key(const Value& key, std::string& out) {
  if (key.is(Value::Kind::String)) {
    out = "s:" + key.as_string();
    return true;
  }
  if (key.is(Value::Kind::Int) || key.is(Value::Kind::Bool)) {
    out = "i:" + std::to_string(key.as_int());
    return true;
  }
  return false;
}

void repr_to(const Value& v, std::string& out, size_t max_chars, int depth);

void repr_seq(const std::vector<ValuePtr>& items, std::string& out, size_t max_chars, int depth) {
  for (size_t i = 0; i < items.size() && out.size() < max_chars; ++i) {
    if (i) out += ", ";
    repr_to(*items[i], out, max_chars, depth + 1);
  }
}

void repr_to(const Value& v, std::string& out, size_t max_chars, int depth) {
  if (out.size() >= max_chars) return;
  if (depth > 20) {
    out += "...";
    return;
  }
  using K = Value::Kind;
  switch (v.kind()) {
    case K::None: out += "None"; break;
    case K::Bool: out += v.as_bool() ? "True" : "False"; break;
    case K::Int: out += std::to_string(v.as_int()); break;
    case K::Float: out += fmt::format("{}", v.as_double()); break;
    case K::String: out += "'" + v.as_string().substr(0, max_chars) + "'"; break;
    case K::Bytes: out += fmt::format("b<{} bytes>", v.as_bytes().size()); break;
    case K::List: out += "["; repr_seq(v.items(), out, max_chars, depth); out += "]"; break;
    case K::Tuple:
      out += "(";
      repr_seq(v.items(), out, max_chars, depth);
      out += v.items().size() == 1 ? ",)" : ")";
      break;
    case K::Dict:
      out += "{";
      for (size_t i = 0; i < v.entries().size() && out.size() < max_chars; ++i) {
        if (i) out += ", ";
        repr_to(*v.entries()[i].first, out, max_chars, depth + 1);
        out += ": ";
        repr_to(*v.entries()[i].second, out, max_chars, depth + 1);
      }
      out += "}";
      break;
    case K::Tensor: {
      const auto& t = v.as_tensor();
      out += fmt::format("tensor({}, {})", fmt::join(t.sizes(), "x"), std::string(c10::toString(t.scalar_type())));
      break;
    }
    case K::Storage: out += fmt::format("storage({})", v.as_tensor().numel()); break;
    case K::Global: out += v.class_name(); break;
    case K::Object: out += v.class_name() + "("; repr_seq(v.items(), out, max_chars, depth); out += ")"; break;
  }
  if (out.size() > max_chars) out.resize(max_chars), out += "...";
}

}  // namespace

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return ordered_ ? "OrderedDict" : "dict";
    case Kind::Tensor: return "tensor";
    case Kind::Storage: return "storage";
    case Kind::Global:
    case Kind::Object: return text_;
  }
  return "?";
}

void Value::type_error(const char* expected) const {
  fail(ExitCode::BadModel, "expected {}, found {}", expected, type_name());
}

bool Value::as_bool() const {
  if (kind_ != Kind::Bool) type_error("a bool");
  return bool_;
}
int64_t Value::as_int() const {
  if (kind_ == Kind::Bool) return bool_ ? 1 : 0;
  if (kind_ != Kind::Int) type_error("an int");
  return int_;
}
double Value::as_double() const {
  if (kind_ == Kind::Float) return float_;
  if (kind_ == Kind::Int || kind_ == Kind::Bool) return double(as_int());
  type_error("a number");
}
const std::string& Value::as_string() const {
  if (kind_ != Kind::String) type_error("a str");
  return text_;
}
const std::string& Value::as_bytes() const {
  if (kind_ != Kind::Bytes) type_error("bytes");
  return text_;
}
const at::Tensor& Value::as_tensor() const {
  if (kind_ != Kind::Tensor && kind_ != Kind::Storage) type_error("a tensor");
  return tensor_;
}
const std::vector<ValuePtr>& Value::items() const {
  if (kind_ != Kind::List && kind_ != Kind::Tuple && kind_ != Kind::Object) type_error("a list or tuple");
  return items_;
}
const std::vector<Value::Entry>& Value::entries() const {
  if (kind_ != Kind::Dict && kind_ != Kind::Object) type_error("a dict");
  return entries_;
}
const Value* Value::find(std::string_view key) const {
  if (kind_ != Kind::Dict) return nullptr;
  auto it = key_index_.find("s:" + std::string(key));
  return it == key_index_.end() ? nullptr : entries_[it->second].second.get();
}
const Value& Value::at(std::string_view key) const {
  if (kind_ != Kind::Dict) type_error("a dict");
  const Value* v = find(key);
  if (!v) fail(ExitCode::BadModel, "missing key '{}'", key);
  return *v;
}

std::string Value::repr(size_t max_chars) const {
  std::string out;
  repr_to(*this, out, max_chars, 0);
  return out;
}

std::shared_ptr<Value> Value::none() { return std::shared_ptr<Value>(new Value(Kind::None)); }
std::shared_ptr<Value> Value::boolean(bool b) {
  auto v = std::shared_ptr<Value>(new Value(Kind::Bool));
  v->bool_ = b;
  return v;
}
std::shared_ptr<Value> Value::integer(int64_t i) {
  auto v = std::shared_ptr<Value>(new Value(Kind::Int));
  v->int_ = i;
  return v;
}
std::shared_ptr<Value> Value::real(double d) {
  auto v = std::shared_ptr<Value>(new Value(Kind::Float));
  v->float_ = d;
  return v;
}
std::shared_ptr<Value> Value::string(std::string s) {
  auto v = std::shared_ptr<Value>(new Value(Kind::String));
  v->text_ = std::move(s);
  return v;
}
std::shared_ptr<Value> Value::bytes(std::string b) {
  auto v = std::shared_ptr<Value>(new Value(Kind::Bytes));
  v->text_ = std::move(b);
  return v;
}
std::shared_ptr<Value> Value::list(std::vector<ValuePtr> items) {
  auto v = std::shared_ptr<Value>(new Value(Kind::List));
  v->items_ = std::move(items);
  return v;
}
std::shared_ptr<Value> Value::tuple(std::vector<ValuePtr> items) {
  auto v = std::shared_ptr<Value>(new Value(Kind::Tuple));
  v->items_ = std::move(items);
  return v;
}
std::shared_ptr<Value> Value::dict(bool ordered) {
  auto v = std::shared_ptr<Value>(new Value(Kind::Dict));
  v->ordered_ = ordered;
  return v;
}
std::shared_ptr<Value> Value::tensor(at::Tensor t) {
  auto v = std::shared_ptr<Value>(new Value(Kind::Tensor));
  v->tensor_ = std::move(t);
  return v;
}
std::shared_ptr<Value> Value::storage(at::Tensor flat) {
  auto v = std::shared_ptr<Value>(new Value(Kind::Storage));
  v->tensor_ = std::move(flat);
  return v;
}
std::shared_ptr<Value> Value::global(std::string qualified_name) {
  auto v = std::shared_ptr<Value>(new Value(Kind::Global));
  v->text_ = std::move(qualified_name);
  return v;
}
std::shared_ptr<Value> Value::object(std::string class_name, std::vector<ValuePtr> args) {
  auto v = std::shared_ptr<Value>(new Value(Kind::Object));
  v->text_ = std::move(class_name);
  v->items_ = std::move(args);
  return v;
}

void Value::append(ValuePtr v) {
  if (kind_ != Kind::List && kind_ != Kind::Object) type_error("a list (APPEND)");
  items_.push_back(std::move(v));
}

void Value::set_item(ValuePtr key, ValuePtr v) {
  if (kind_ != Kind::Dict && kind_ != Kind::Object) type_error("a dict (SETITEM)");
  std::string k;
  if (index_key(*key, k)) {
    auto [it, inserted] = key_index_.emplace(std::move(k), entries_.size());
    if (!inserted) {
      entries_[it->second].second = std::move(v);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(v));
}

void Value::become_tensor(at::Tensor t) {
  clear_children();
  kind_ = Kind::Tensor;
  tensor_ = std::move(t);
}

void Value::clear_children() {
  items_.clear();
  entries_.clear();
  key_index_.clear();
  state_.reset();
}

}  // namespace voxseg::checkpoint
