#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace voxseg::checkpoint {

class Value;
using ValuePtr = std::shared_ptr<const Value>;

/// One node of an unpickled object tree (what torch.load would return), with at::Tensor leaves.
/// Nodes may be shared (pickle memo references); the tree is acyclic (the reader rejects cycles).
/// Accessors throw Error(BadModel) naming the expected and the found type.
class Value {
 public:
  enum class Kind {
    None, Bool, Int, Float, String, Bytes,
    List, Tuple, Dict,  ///< Dict covers dict, OrderedDict and defaultdict (insertion order kept)
    Tensor,             ///< torch tensors, parameters and numpy arrays
    Storage,            ///< a typed storage, held as a flat 1-D tensor of its dtype
    Global,             ///< a class or function reference that was not called ("torch.float32")
    Object,             ///< an instance of a class the reader does not model: class name + args + state
  };
  using Entry = std::pair<ValuePtr, ValuePtr>;

  Kind kind() const { return kind_; }
  bool is(Kind k) const { return kind_ == k; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_sequence() const { return kind_ == Kind::List || kind_ == Kind::Tuple; }
  /// "dict", "OrderedDict", "list", "tuple", "str", "int", "float", "bool", "None", "bytes",
  /// "tensor", or the class name of a Global/Object ("torch.device").
  std::string type_name() const;

  bool as_bool() const;
  int64_t as_int() const;     ///< Int or Bool
  double as_double() const;   ///< Float, Int or Bool
  const std::string& as_string() const;
  const std::string& as_bytes() const;
  const at::Tensor& as_tensor() const;  ///< Tensor, or a Storage's flat tensor
  /// Elements of a List or Tuple; the arguments of an Object.
  const std::vector<ValuePtr>& items() const;
  /// Entries of a Dict (or dict items an Object received), in insertion order.
  const std::vector<Entry>& entries() const;
  /// Dict lookup by string key; nullptr when absent (or when this is not a Dict).
  const Value* find(std::string_view key) const;
  /// Like find() but throws Error(BadModel) "missing key '<key>'" when absent.
  const Value& at(std::string_view key) const;
  /// "module.name" of a Global or Object.
  const std::string& class_name() const { return text_; }
  /// The state an Object (or dict) received through BUILD; nullptr when none.
  const ValuePtr& state() const { return state_; }
  /// A short Python-like rendering for messages and debugging (truncated at max_chars).
  std::string repr(size_t max_chars = 200) const;

  // Construction (used by the reader; values are immutable once the reader returns them).
  static std::shared_ptr<Value> none();
  static std::shared_ptr<Value> boolean(bool b);
  static std::shared_ptr<Value> integer(int64_t v);
  static std::shared_ptr<Value> real(double v);
  static std::shared_ptr<Value> string(std::string s);
  static std::shared_ptr<Value> bytes(std::string b);
  static std::shared_ptr<Value> list(std::vector<ValuePtr> items = {});
  static std::shared_ptr<Value> tuple(std::vector<ValuePtr> items);
  static std::shared_ptr<Value> dict(bool ordered);
  static std::shared_ptr<Value> tensor(at::Tensor t);
  static std::shared_ptr<Value> storage(at::Tensor flat);
  static std::shared_ptr<Value> global(std::string qualified_name);
  static std::shared_ptr<Value> object(std::string class_name, std::vector<ValuePtr> args);

  // Mutation during unpickling only.
  void append(ValuePtr v);
  /// Python semantics: an equal str/int key replaces the earlier value, keeping its position.
  void set_item(ValuePtr key, ValuePtr v);
  void set_state(ValuePtr s) { state_ = std::move(s); }
  /// Drops all children (breaks reference cycles before a failed parse's values are freed).
  void clear_children();
  /// Turns a pending numpy.ndarray Object into a Tensor once BUILD supplied its data.
  void become_tensor(at::Tensor t);
  bool is_ordered_dict() const { return ordered_; }

 private:
  explicit Value(Kind k) : kind_(k) {}
  [[noreturn]] void type_error(const char* expected) const;

  Kind kind_;
  bool ordered_ = false;
  bool bool_ = false;
  int64_t int_ = 0;
  double float_ = 0;
  std::string text_;  // str, bytes, or class name
  std::vector<ValuePtr> items_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> key_index_;  // "s:<str>" / "i:<int>" -> position
  ValuePtr state_;
  at::Tensor tensor_;
};

}  // namespace voxseg::checkpoint
