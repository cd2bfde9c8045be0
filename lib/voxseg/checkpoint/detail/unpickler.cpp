// The pickle opcode machine: reading, stack, memo, and the structure checks run after STOP.
#include "voxseg/checkpoint/detail/unpickler.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "voxseg/checkpoint/detail/unpickler_machine.h"

namespace voxseg::checkpoint::detail {

Unpickler::~Unpickler() {
  // Break every reference among composite values before they are freed, so that neither a
  // cycle leaks nor a deep chain recurses in destructors (the result, if any, passed the checks).
  if (!ok_) {
    for (auto& v : composites_) v->clear_children();
  }
}

ValuePtr Unpickler::run() {
  ValuePtr result = execute();
  check_structure();
  ok_ = true;
  return result;
}

ValuePtr Unpickler::execute() {
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

uint64_t Unpickler::parse_index(const std::string& s) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) {
    bad("malformed memo index");
  }
  return std::stoull(s);
}

void Unpickler::push_text_int(const std::string& s) {
  if (s == "00") return push(Value::boolean(false));
  if (s == "01") return push(Value::boolean(true));
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE) bad("malformed or too large INT");
  push(Value::integer(v));
}

// Little-endian two's complement; values beyond int64 become an opaque "builtins.int".
void Unpickler::push_long(uint64_t n) {
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

void Unpickler::set_items(Value& target, std::vector<ValuePtr>& items) {
  if (items.size() % 2) bad("odd number of items for SETITEMS");
  for (size_t i = 0; i < items.size(); i += 2) target.set_item(std::move(items[i]), std::move(items[i + 1]));
}

// Rejects reference cycles and nesting deeper than the limit, over every composite created
// (also unreachable ones, whose destruction would otherwise recurse).
void Unpickler::check_structure() {
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

ValuePtr unpickle(std::string_view data, const PersistentLoad& persistent_load, const UnpicklerLimits& limits) {
  Unpickler u(data, persistent_load, limits);
  return u.run();
}

}  // namespace voxseg::checkpoint::detail
