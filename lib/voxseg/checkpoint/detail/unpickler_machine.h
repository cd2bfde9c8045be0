#pragma once
// The pickle virtual machine shared by unpickler.cpp (opcodes, stack, memo, structure checks)
// and pickle_rebuilders.cpp (REDUCE/NEWOBJ/BUILD: torch tensors, numpy, builtins). Private to
// the checkpoint module.
#include <ATen/core/Tensor.h>
#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "voxseg/checkpoint/detail/unpickler.h"
#include "voxseg/core/error.h"

namespace voxseg::checkpoint::detail {

class Unpickler {
 public:
  using MutablePtr = std::shared_ptr<Value>;
  using K = Value::Kind;

  Unpickler(std::string_view data, const PersistentLoad& load, const UnpicklerLimits& limits)
      : data_(data), load_(load), limits_(limits) {}
  ~Unpickler();

  ValuePtr run();

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(ExitCode::BadModel, "{} at byte {} of the pickle", what, op_pos_);
  }

  // ---- reading ---------------------------------------------------------------------------------
  const char* take(size_t n) {
    if (n > data_.size() - pos_) bad("truncated data");
    const char* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint8_t u8() { return uint8_t(*take(1)); }
  uint64_t le(size_t n) {
    const auto* p = reinterpret_cast<const uint8_t*>(take(n));
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
    return v;
  }
  std::string bytes(uint64_t n) {
    if (n > data_.size() - pos_) bad(fmt::format("declared length {} exceeds the data", n));
    return std::string(take(size_t(n)), size_t(n));
  }
  std::string line() {
    size_t end = data_.find('\n', pos_);
    if (end == std::string_view::npos) bad("unterminated text argument");
    std::string s(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }

  // ---- stack -----------------------------------------------------------------------------------
  template <typename P>
  P track(P v) {
    if (++created_ > limits_.max_values) bad(fmt::format("more than {} objects", limits_.max_values));
    return v;
  }
  MutablePtr composite(MutablePtr v) {
    track(v);
    composites_.push_back(v);
    return v;
  }
  void push(ValuePtr v) { push_existing(track(std::move(v))); }
  // Every push counts (memo gets and DUP too), so references cannot outgrow the object cap much.
  void push_existing(ValuePtr v) {
    if (++pushes_ > 4 * limits_.max_values) bad(fmt::format("more than {} stack pushes", 4 * limits_.max_values));
    stack_.push_back(std::move(v));
  }
  ValuePtr pop() {
    if (stack_.size() <= floor()) bad("stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const ValuePtr& top() const {
    if (stack_.size() <= floor()) bad("stack underflow");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) bad("missing MARK");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + long(m)),
                                std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  // The composite value on top of the stack, to be mutated (APPEND, SETITEM, BUILD).
  Value& mutable_top() {
    const ValuePtr& v = top();
    if (!v->is(K::List) && !v->is(K::Dict) && !v->is(K::Object)) {
      bad(fmt::format("cannot add items to a {}", v->type_name()));
    }
    return const_cast<Value&>(*v);  // composites are created mutable by this class
  }
  MutablePtr make_tuple(std::vector<ValuePtr> items) { return composite(Value::tuple(std::move(items))); }

  void memo_put(uint64_t index) { memo_[index] = top(); }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) bad(fmt::format("memo reference {} is missing", index));
    push_existing(it->second);
  }

  // ---- execution (unpickler.cpp) ---------------------------------------------------------------
  ValuePtr execute();
  uint64_t parse_index(const std::string& s);
  void push_text_int(const std::string& s);
  void push_long(uint64_t n);
  void set_items(Value& target, std::vector<ValuePtr>& items);
  void check_structure();

  // ---- calls and rebuilders (pickle_rebuilders.cpp) ------------------------------------------------
  const std::vector<ValuePtr>& args_of(const ValuePtr& args);
  ValuePtr call(const Value& callable, const ValuePtr& args_value);
  ValuePtr nullptr_tuple() { return make_tuple({}); }
  std::string latin1(const std::string& utf8);
  std::vector<int64_t> int_tuple(const Value& v, const char* what);
  at::ScalarType torch_dtype(const Value& v);
  at::Tensor rebuild_tensor(const Value& storage, const Value& offset_v, const Value& size_v,
                            const Value& stride_v, std::optional<at::ScalarType> dtype = std::nullopt);

  struct NumpyType {
    std::string descr;
    bool big_endian = false;
  };
  NumpyType numpy_type(const Value& dtype);
  ValuePtr numpy_scalar(const Value& dtype, const Value& data);
  void build_ndarray(Value& target, const Value& state);
  void build(const ValuePtr& target_ptr, const ValuePtr& state);

  std::string_view data_;
  const PersistentLoad& load_;
  UnpicklerLimits limits_;
  size_t pos_ = 0, op_pos_ = 0, created_ = 0, pushes_ = 0;
  bool ok_ = false;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
  std::vector<MutablePtr> composites_;
};

}  // namespace voxseg::checkpoint::detail
