#include "voxseg/checkpoint/detail/unpickler.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <vector>

#include "voxseg/core/error.h"

namespace voxseg::checkpoint::detail {
namespace {

using MutablePtr = std::shared_ptr<Value>;
using K = Value::Kind;

bool mul_overflow(int64_t a, int64_t b, int64_t& out) { return __builtin_mul_overflow(a, b, &out); }
bool add_overflow(int64_t a, int64_t b, int64_t& out) { return __builtin_add_overflow(a, b, &out); }

// numpy dtype descriptor ("f8", "<f4", "|b1") -> torch dtype; false when torch has no such type.
bool numpy_dtype(std::string descr, at::ScalarType& type, int64_t& itemsize) {
  if (!descr.empty() && (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=')) {
    descr.erase(0, 1);
  }
  static const std::pair<const char*, at::ScalarType> kTable[] = {
      {"f8", at::kDouble}, {"f4", at::kFloat}, {"f2", at::kHalf},     {"i8", at::kLong},
      {"i4", at::kInt},    {"i2", at::kShort}, {"i1", at::kChar},     {"u1", at::kByte},
      {"b1", at::kBool},   {"c8", at::kComplexFloat}, {"c16", at::kComplexDouble}};
  for (const auto& [name, t] : kTable) {
    if (descr == name) {
      type = t;
      itemsize = int64_t(c10::elementSize(t));
      return true;
    }
  }
  return false;
}

void byteswap_elements(char* data, int64_t count, int64_t itemsize) {
  if (itemsize <= 1) return;
  for (int64_t i = 0; i < count; ++i) std::reverse(data + i * itemsize, data + (i + 1) * itemsize);
}

class Unpickler {
 public:
  Unpickler(std::string_view data, const PersistentLoad& load, const UnpicklerLimits& limits)
      : data_(data), load_(load), limits_(limits) {}

  ~Unpickler() {
    // Break every reference among composite values before they are freed, so that neither a
    // cycle leaks nor a deep chain recurses in destructors (the result, if any, passed the checks).
    if (!ok_) {
      for (auto& v : composites_) v->clear_children();
    }
  }

  ValuePtr run() {
    ValuePtr result = execute();
    check_structure();
    ok_ = true;
    return result;
  }

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

  // ---- execution -------------------------------------------------------------------------------
  ValuePtr execute() {
    while (true) {
      op_pos_ = pos_;
      const uint8_t op = u8();
      switch (op) {
        case 0x80: {  // PROTO
          uint8_t v = u8();
          if (v > 5) bad(fmt::format("unsupported pickle protocol {}", v));
          break;
        }
        case 0x95: le(8); break;  // FRAME: framing is irrelevant to an in-memory reader
        case '.':  // STOP (like Python, extra values and open MARKs are ignored)
          if (stack_.empty()) bad("empty stack at STOP");
          return stack_.back();
        case '(': marks_.push_back(stack_.size()); break;
        case '0': pop(); break;
        case '1': pop_mark(); break;
        case '2': push_existing(top()); break;
        case 'N': push(Value::none()); break;
        case 0x88: push(Value::boolean(true)); break;
        case 0x89: push(Value::boolean(false)); break;
        case 'J': push(Value::integer(int32_t(uint32_t(le(4))))); break;
        case 'K': push(Value::integer(u8())); break;
        case 'M': push(Value::integer(int64_t(le(2)))); break;
        case 0x8a: push_long(u8()); break;
        case 0x8b: {
          uint64_t n = le(4);
          if (n > 0x7fffffff) bad("negative LONG4 length");
          push_long(n);
          break;
        }
        case 'I': push_text_int(line()); break;
        case 'L': {
          std::string s = line();
          if (!s.empty() && s.back() == 'L') s.pop_back();
          push_text_int(s);
          break;
        }
        case 'G': {
          uint64_t bits = 0;
          const auto* p = reinterpret_cast<const uint8_t*>(take(8));
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];  // big-endian
          double d;
          std::memcpy(&d, &bits, 8);
          push(Value::real(d));
          break;
        }
        case 'F': {
          std::string s = line();
          char* end = nullptr;
          double d = std::strtod(s.c_str(), &end);
          if (s.empty() || end != s.c_str() + s.size()) bad("malformed FLOAT");
          push(Value::real(d));
          break;
        }
        case 'X': push(Value::string(bytes(le(4)))); break;
        case 0x8c: push(Value::string(bytes(u8()))); break;
        case 0x8d: push(Value::string(bytes(le(8)))); break;
        case 'V': push(Value::string(line())); break;
        case 'T': {  // BINSTRING (Python 2 str): signed 4-byte length
          uint64_t n = le(4);
          if (n > 0x7fffffff) bad("negative BINSTRING length");
          push(Value::string(bytes(n)));
          break;
        }
        case 'U': push(Value::string(bytes(u8()))); break;
        case 'B': push(Value::bytes(bytes(le(4)))); break;
        case 'C': push(Value::bytes(bytes(u8()))); break;
        case 0x8e: push(Value::bytes(bytes(le(8)))); break;
        case 0x96: push(Value::bytes(bytes(le(8)))); break;  // BYTEARRAY8
        case '}': push(composite(Value::dict(false))); break;
        case 'd': {
          auto items = pop_mark();
          auto d = composite(Value::dict(false));
          set_items(*d, items);
          push_existing(d);
          break;
        }
        case ']': push(composite(Value::list())); break;
        case 'l': push(composite(Value::list(pop_mark()))); break;
        case ')': push(make_tuple({})); break;
        case 't': push(make_tuple(pop_mark())); break;
        case 0x85: {
          auto a = pop();
          push(make_tuple({a}));
          break;
        }
        case 0x86: {
          auto b = pop(), a = pop();
          push(make_tuple({a, b}));
          break;
        }
        case 0x87: {
          auto c = pop(), b = pop(), a = pop();
          push(make_tuple({a, b, c}));
          break;
        }
        case 0x8f: push(composite(Value::list())); break;                  // EMPTY_SET (as a list)
        case 0x91: push(composite(Value::list(pop_mark()))); break;        // FROZENSET
        case 'a': {
          auto v = pop();
          mutable_top().append(std::move(v));
          break;
        }
        case 'e':
        case 0x90: {  // APPENDS, ADDITEMS
          auto items = pop_mark();
          Value& target = mutable_top();
          for (auto& v : items) target.append(std::move(v));
          break;
        }
        case 's': {
          auto v = pop(), k = pop();
          mutable_top().set_item(std::move(k), std::move(v));
          break;
        }
        case 'u': {
          auto items = pop_mark();
          set_items(mutable_top(), items);
          break;
        }
        case 'p': memo_put(parse_index(line())); break;
        case 'q': memo_put(u8()); break;
        case 'r': memo_put(le(4)); break;
        case 0x94: memo_put(memo_.size()); break;
        case 'g': memo_get(parse_index(line())); break;
        case 'h': memo_get(u8()); break;
        case 'j': memo_get(le(4)); break;
        case 'c': {
          std::string module = line();
          std::string name = line();
          push(Value::global(module + "." + name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop(), module = pop();
          if (!name->is(K::String) || !module->is(K::String)) bad("STACK_GLOBAL needs two strings");
          push(Value::global(module->as_string() + "." + name->as_string()));
          break;
        }
        case 'R': {
          auto args = pop(), callable = pop();
          push_existing(call(*callable, args));
          break;
        }
        case 0x81: {  // NEWOBJ
          auto args = pop(), cls = pop();
          push_existing(call(*cls, args));
          break;
        }
        case 0x92: {  // NEWOBJ_EX (kwargs ignored)
          pop();
          auto args = pop(), cls = pop();
          push_existing(call(*cls, args));
          break;
        }
        case 'b': {
          auto state = pop();
          build(top(), state);
          break;
        }
        case 'Q': {
          auto pid = pop();
          if (!load_) bad("persistent id without a storage loader");
          push(load_(*pid));
          break;
        }
        default:
          bad(fmt::format("unsupported pickle opcode 0x{:02x}", op));
      }
    }
  }

  uint64_t parse_index(const std::string& s) {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) {
      bad("malformed memo index");
    }
    return std::stoull(s);
  }

  void push_text_int(const std::string& s) {
    if (s == "00") return push(Value::boolean(false));
    if (s == "01") return push(Value::boolean(true));
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE) bad("malformed or too large INT");
    push(Value::integer(v));
  }

  // Little-endian two's complement; values beyond int64 become an opaque "builtins.int".
  void push_long(uint64_t n) {
    std::string b = bytes(n);
    if (n == 0) return push(Value::integer(0));
    if (n > 8) {
      auto big = composite(Value::object("builtins.int", {}));
      big->set_state(track(Value::bytes(std::move(b))));
      return push_existing(big);
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(uint8_t(b[i])) << (8 * i);
    if (n < 8 && (uint8_t(b[n - 1]) & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
    push(Value::integer(int64_t(v)));
  }

  void set_items(Value& target, std::vector<ValuePtr>& items) {
    if (items.size() % 2) bad("odd number of items for SETITEMS");
    for (size_t i = 0; i < items.size(); i += 2) target.set_item(std::move(items[i]), std::move(items[i + 1]));
  }

  // ---- calls (REDUCE / NEWOBJ) -----------------------------------------------------------------
  const std::vector<ValuePtr>& args_of(const ValuePtr& args) {
    if (!args->is(K::Tuple)) bad(fmt::format("call arguments are a {}, not a tuple", args->type_name()));
    return args->items();
  }

  ValuePtr call(const Value& callable, const ValuePtr& args_value) {
    if (!callable.is(K::Global)) bad(fmt::format("cannot call a {}", callable.type_name()));
    const std::string& name = callable.class_name();
    const auto& args = args_of(args_value);
    auto arg = [&](size_t i) -> const Value& {
      if (i >= args.size()) bad(fmt::format("{} needs at least {} arguments", name, i + 1));
      return *args[i];
    };
    if (name == "collections.OrderedDict" || name == "builtins.dict" || name == "__builtin__.dict" ||
        name == "collections.defaultdict") {
      auto d = composite(Value::dict(name == "collections.OrderedDict"));
      if (name != "collections.defaultdict" && !args.empty() && args[0]->is_sequence()) {
        for (const auto& pair : args[0]->items()) {
          if (!pair->is_sequence() || pair->items().size() != 2) bad("dict() needs (key, value) pairs");
          d->set_item(pair->items()[0], pair->items()[1]);
        }
      }
      return d;
    }
    if (name == "builtins.list" || name == "builtins.set" || name == "builtins.frozenset" ||
        name == "builtins.tuple") {
      std::vector<ValuePtr> items;
      if (!args.empty() && args[0]->is_sequence()) items = args[0]->items();
      return name == "builtins.tuple" ? make_tuple(std::move(items)) : composite(Value::list(std::move(items)));
    }
    if (name == "_codecs.encode") {
      if (!arg(0).is(K::String)) bad("_codecs.encode of a non-string");
      const bool utf8 = args.size() > 1 && args[1]->is(K::String) &&
                        (args[1]->as_string() == "utf-8" || args[1]->as_string() == "utf8");
      return track(Value::bytes(utf8 ? arg(0).as_string() : latin1(arg(0).as_string())));
    }
    if (name == "builtins.bytearray" || name == "builtins.bytes" || name == "__builtin__.bytearray") {
      if (args.empty()) return track(Value::bytes(""));
      if (arg(0).is(K::Bytes)) return track(Value::bytes(arg(0).as_bytes()));
      if (arg(0).is(K::String)) return track(Value::bytes(latin1(arg(0).as_string())));
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      return track(Value::tensor(rebuild_tensor(arg(0), arg(1), arg(2), arg(3))));
    }
    if (name == "torch._utils._rebuild_tensor_v3") {  // (..., dtype): the storage's bytes viewed as dtype
      return track(Value::tensor(rebuild_tensor(arg(0), arg(1), arg(2), arg(3), torch_dtype(arg(6)))));
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (!arg(0).is(K::Tensor)) bad("_rebuild_parameter of a non-tensor");
      return args[0];
    }
    if (name == "torch._tensor._rebuild_from_type_v2" || name == "torch._tensor._rebuild_from_type") {
      ValuePtr inner = call(arg(0), args.size() > 2 ? args[2] : nullptr_tuple());
      return inner;
    }
    if (ends_with(name, "multiarray.scalar") && is_numpy(name)) return numpy_scalar(arg(0), arg(1));
    if (name == "numpy.dtype" || (is_numpy(name) && ends_with(name, ".dtype"))) {
      return composite(Value::object("numpy.dtype", args));
    }
    if (ends_with(name, "multiarray._reconstruct") && is_numpy(name)) {
      return composite(Value::object("numpy.ndarray", {}));  // filled by BUILD
    }
    return composite(Value::object(name, args));  // opaque: class name + args (+ state by BUILD)
  }

  ValuePtr nullptr_tuple() { return make_tuple({}); }
  static bool ends_with(const std::string& s, const char* suffix) {
    size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
  }
  static bool is_numpy(const std::string& s) { return s.rfind("numpy.", 0) == 0; }

  // Python's str.encode('latin1') of a UTF-8 string: every code point must be < 256.
  std::string latin1(const std::string& utf8) {
    std::string out;
    out.reserve(utf8.size());
    for (size_t i = 0; i < utf8.size(); ++i) {
      auto c = uint8_t(utf8[i]);
      if (c < 0x80) {
        out.push_back(char(c));
      } else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size() && (uint8_t(utf8[i + 1]) & 0xC0) == 0x80) {
        unsigned cp = ((c & 0x1Fu) << 6) | (uint8_t(utf8[i + 1]) & 0x3Fu);
        if (cp > 0xFF) bad("_codecs.encode: character beyond latin-1");
        out.push_back(char(cp));
        ++i;
      } else {
        bad("_codecs.encode: invalid or non-latin-1 UTF-8");
      }
    }
    return out;
  }

  // ---- torch tensors ---------------------------------------------------------------------------
  std::vector<int64_t> int_tuple(const Value& v, const char* what) {
    if (!v.is_sequence()) bad(fmt::format("tensor {} is a {}, not a tuple", what, v.type_name()));
    if (v.items().size() > limits_.max_dims) bad(fmt::format("tensor has more than {} dims", limits_.max_dims));
    std::vector<int64_t> out;
    for (const auto& e : v.items()) {
      if (!e->is(K::Int)) bad(fmt::format("tensor {} holds a {}", what, e->type_name()));
      if (e->as_int() < 0) bad(fmt::format("negative tensor {}", what));
      out.push_back(e->as_int());
    }
    return out;
  }

  // torch.float32 etc. (a Global) -> ScalarType.
  at::ScalarType torch_dtype(const Value& v) {
    static const std::pair<const char*, at::ScalarType> kNames[] = {
        {"float32", at::kFloat},  {"float", at::kFloat},   {"float64", at::kDouble}, {"double", at::kDouble},
        {"float16", at::kHalf},   {"half", at::kHalf},     {"bfloat16", at::kBFloat16}, {"int64", at::kLong},
        {"long", at::kLong},      {"int32", at::kInt},     {"int", at::kInt},        {"int16", at::kShort},
        {"short", at::kShort},    {"int8", at::kChar},     {"uint8", at::kByte},     {"bool", at::kBool},
        {"complex64", at::kComplexFloat}, {"cfloat", at::kComplexFloat}, {"complex128", at::kComplexDouble},
        {"cdouble", at::kComplexDouble}};
    if (v.is(K::Global) && v.class_name().rfind("torch.", 0) == 0) {
      const std::string n = v.class_name().substr(6);
      for (const auto& [name, type] : kNames) {
        if (n == name) return type;
      }
    }
    bad(fmt::format("unsupported tensor dtype {}", v.repr(60)));
  }

  at::Tensor rebuild_tensor(const Value& storage, const Value& offset_v, const Value& size_v,
                            const Value& stride_v, std::optional<at::ScalarType> dtype = std::nullopt) {
    if (!storage.is(K::Storage)) bad(fmt::format("tensor storage is a {}", storage.type_name()));
    if (!offset_v.is(K::Int) || offset_v.as_int() < 0) bad("invalid tensor storage offset");
    at::Tensor flat = storage.as_tensor();
    if (dtype && *dtype != flat.scalar_type()) {  // reinterpret the storage's bytes
      const int64_t n = int64_t(flat.storage().nbytes() / c10::elementSize(*dtype));
      flat = at::empty({0}, flat.options().dtype(*dtype)).set_(flat.storage(), 0, {n}, {1});
    }
    const int64_t offset = offset_v.as_int();
    const auto sizes = int_tuple(size_v, "size");
    const auto strides = int_tuple(stride_v, "stride");
    if (sizes.size() != strides.size()) bad("tensor size and stride differ in length");
    // Elements the view reaches: offset + sum((size - 1) * stride) + 1 (offset alone if empty).
    int64_t needed = offset;
    bool empty = std::any_of(sizes.begin(), sizes.end(), [](int64_t s) { return s == 0; });
    if (!empty) {
      int64_t numel = 1;
      for (size_t i = 0; i < sizes.size(); ++i) {
        int64_t span = 0;
        if (mul_overflow(sizes[i] - 1, strides[i], span) || add_overflow(needed, span, needed) ||
            mul_overflow(numel, sizes[i], numel)) {
          bad("tensor size overflows");
        }
      }
      if (add_overflow(needed, 1, needed)) bad("tensor size overflows");
    }
    if (needed > flat.numel()) {
      bad(fmt::format("tensor of size [{}] stride [{}] offset {} needs {} elements but its storage holds {}",
                      fmt::join(sizes, ","), fmt::join(strides, ","), offset, needed, flat.numel()));
    }
    at::Tensor t = at::empty({0}, flat.options());
    t.set_(flat.storage(), offset, sizes, strides);
    return t;
  }

  // ---- numpy -----------------------------------------------------------------------------------
  struct NumpyType {
    std::string descr;
    bool big_endian = false;
  };
  NumpyType numpy_type(const Value& dtype) {
    if (!dtype.is(K::Object) || dtype.class_name() != "numpy.dtype" || dtype.items().empty() ||
        !dtype.items()[0]->is(K::String)) {
      bad(fmt::format("expected a numpy dtype, found {}", dtype.type_name()));
    }
    NumpyType t{dtype.items()[0]->as_string()};
    if (dtype.state() && dtype.state()->is(K::Tuple) && dtype.state()->items().size() > 1 &&
        dtype.state()->items()[1]->is(K::String)) {
      t.big_endian = dtype.state()->items()[1]->as_string() == ">";
    }
    if (!t.descr.empty() && t.descr[0] == '>') t.big_endian = true;
    return t;
  }

  ValuePtr numpy_scalar(const Value& dtype, const Value& data) {
    NumpyType nt = numpy_type(dtype);
    if (!data.is(K::Bytes)) bad("numpy scalar data is not bytes");
    std::string raw = data.as_bytes();
    std::string d = nt.descr;
    if (!d.empty() && std::strchr("<>|=", d[0])) d.erase(0, 1);
    if (d.size() < 2) bad("bad numpy dtype '" + nt.descr + "'");
    size_t size = 0;
    try {
      size = std::stoul(d.substr(1));
    } catch (const std::exception&) {
      bad("bad numpy dtype '" + nt.descr + "'");
    }
    if (raw.size() != size || size == 0 || size > 8) {
      return composite(Value::object("numpy.scalar", {track(Value::string(nt.descr)), track(Value::bytes(raw))}));
    }
    if (nt.big_endian) std::reverse(raw.begin(), raw.end());
    uint64_t bits = 0;
    std::memcpy(&bits, raw.data(), size);
    switch (d[0]) {
      case 'f': {
        if (size == 8) { double v; std::memcpy(&v, &bits, 8); return track(Value::real(v)); }
        if (size == 4) { float v; std::memcpy(&v, &bits, 4); return track(Value::real(v)); }
        if (size == 2) return track(Value::real(double(c10::Half(uint16_t(bits), c10::Half::from_bits()))));
        break;
      }
      case 'i': {
        int64_t v = size == 8 ? int64_t(bits) : int64_t(bits << (64 - 8 * size)) >> (64 - 8 * size);
        return track(Value::integer(v));
      }
      case 'u': return track(Value::integer(int64_t(bits)));
      case 'b': return track(Value::boolean(bits != 0));
      default: break;
    }
    return composite(Value::object("numpy.scalar", {track(Value::string(nt.descr)), track(Value::bytes(raw))}));
  }

  // ndarray.__setstate__((version, shape, dtype, is_fortran, data)).
  void build_ndarray(Value& target, const Value& state) {
    if (!state.is(K::Tuple) || state.items().size() != 5) bad("bad numpy array state");
    const auto& s = state.items();
    const auto shape = int_tuple(*s[1], "shape");
    NumpyType nt = numpy_type(*s[2]);
    at::ScalarType type;
    int64_t itemsize = 0;
    if (!s[4]->is(K::Bytes) || !numpy_dtype(nt.descr, type, itemsize)) {
      target.set_state(s[4]);  // object arrays, unsigned > 8 bit...: kept opaque
      return;
    }
    int64_t numel = 1, nbytes = 0;
    for (int64_t d : shape) {
      if (mul_overflow(numel, d, numel)) bad("numpy array size overflows");
    }
    if (mul_overflow(numel, itemsize, nbytes) || nbytes != int64_t(s[4]->as_bytes().size())) {
      bad(fmt::format("numpy array of {} elements has {} data bytes", numel, s[4]->as_bytes().size()));
    }
    const bool fortran = s[3]->is(K::Bool) && s[3]->as_bool();
    std::vector<int64_t> dims = shape;
    if (fortran) std::reverse(dims.begin(), dims.end());
    at::Tensor t = at::empty(dims, at::TensorOptions().dtype(type));
    if (nbytes) std::memcpy(t.data_ptr(), s[4]->as_bytes().data(), size_t(nbytes));
    if (nt.big_endian) byteswap_elements(static_cast<char*>(t.data_ptr()), numel, itemsize);
    if (fortran && t.dim() > 1) {
      std::vector<int64_t> perm(size_t(t.dim()));
      for (size_t i = 0; i < perm.size(); ++i) perm[i] = int64_t(perm.size() - 1 - i);
      t = t.permute(perm).contiguous();
    }
    target.become_tensor(t);
  }

  void build(const ValuePtr& target_ptr, const ValuePtr& state) {
    auto& target = const_cast<Value&>(*target_ptr);  // only composites reach the mutating branches
    if (target.is(K::Object) && target.class_name() == "numpy.ndarray" && target.items().empty() &&
        !target.state()) {
      return build_ndarray(target, *state);
    }
    if (target.is(K::Object) || target.is(K::Dict)) return target.set_state(state);
    if (target.is(K::Tensor)) return;  // python attributes of a tensor: not needed
    bad(fmt::format("BUILD on a {}", target.type_name()));
  }

  // ---- structure checks ------------------------------------------------------------------------
  // Rejects reference cycles and nesting deeper than the limit, over every composite created
  // (also unreachable ones, whose destruction would otherwise recurse).
  void check_structure() {
    std::unordered_map<const Value*, size_t> height;  // absent: unseen; 0: on the DFS path
    struct Frame {
      const Value* v;
      size_t next;
    };
    std::vector<Frame> path;
    auto children = [](const Value& v, size_t i) -> const Value* {
      if (!v.is(K::List) && !v.is(K::Tuple) && !v.is(K::Dict) && !v.is(K::Object)) return nullptr;
      size_t n_items = v.is(K::Dict) ? 0 : v.items().size();
      if (i < n_items) return v.items()[i].get();
      i -= n_items;
      size_t n_entries = (v.is(K::Dict) || v.is(K::Object)) ? v.entries().size() : 0;
      if (i < 2 * n_entries) return (i % 2 ? v.entries()[i / 2].second : v.entries()[i / 2].first).get();
      i -= 2 * n_entries;
      if (i == 0 && v.state()) return v.state().get();
      return nullptr;
    };
    for (const auto& root : composites_) {
      if (height.count(root.get())) continue;
      height[root.get()] = 0;
      path.push_back({root.get(), 0});
      while (!path.empty()) {
        Frame& f = path.back();
        const Value* child = children(*f.v, f.next++);
        if (!child) {
          size_t h = 1;
          for (size_t i = 0; const Value* c = children(*f.v, i); ++i) {
            auto it = height.find(c);
            if (it != height.end()) h = std::max(h, it->second + 1);
          }
          if (h > limits_.max_depth) {
            op_pos_ = pos_;
            bad(fmt::format("objects nested deeper than {}", limits_.max_depth));
          }
          height[f.v] = h;
          path.pop_back();
          continue;
        }
        auto it = height.find(child);
        if (it == height.end()) {
          if (path.size() >= limits_.max_depth) {
            op_pos_ = pos_;
            bad(fmt::format("objects nested deeper than {}", limits_.max_depth));
          }
          height[child] = 0;
          path.push_back({child, 0});
        } else if (it->second == 0) {
          op_pos_ = pos_;
          bad("a container contains itself (cyclic reference)");
        }
      }
    }
  }

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

}  // namespace

ValuePtr unpickle(std::string_view data, const PersistentLoad& persistent_load, const UnpicklerLimits& limits) {
  Unpickler u(data, persistent_load, limits);
  return u.run();
}

}  // namespace voxseg::checkpoint::detail
