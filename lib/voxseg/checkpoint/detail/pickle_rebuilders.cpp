// REDUCE / NEWOBJ / BUILD of the pickle machine: builtins, torch tensor rebuilders, numpy scalars
// and arrays. Other classes become opaque Object values.
#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>

#include "voxseg/checkpoint/detail/unpickler_machine.h"

namespace voxseg::checkpoint::detail {
namespace {

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

bool ends_with(const std::string& s, const char* suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}
bool is_numpy(const std::string& s) { return s.rfind("numpy.", 0) == 0; }

}  // namespace

const std::vector<ValuePtr>& Unpickler::args_of(const ValuePtr& args) {
  if (!args->is(K::Tuple)) bad(fmt::format("call arguments are a {}, not a tuple", args->type_name()));
  return args->items();
}

ValuePtr Unpickler::call(const Value& callable, const ValuePtr& args_value) {
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

// Python's str.encode('latin1') of a UTF-8 string: every code point must be < 256.
std::string Unpickler::latin1(const std::string& utf8) {
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

std::vector<int64_t> Unpickler::int_tuple(const Value& v, const char* what) {
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
at::ScalarType Unpickler::torch_dtype(const Value& v) {
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

at::Tensor Unpickler::rebuild_tensor(const Value& storage, const Value& offset_v, const Value& size_v,
                                     const Value& stride_v, std::optional<at::ScalarType> dtype) {
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

Unpickler::NumpyType Unpickler::numpy_type(const Value& dtype) {
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

ValuePtr Unpickler::numpy_scalar(const Value& dtype, const Value& data) {
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
void Unpickler::build_ndarray(Value& target, const Value& state) {
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

void Unpickler::build(const ValuePtr& target_ptr, const ValuePtr& state) {
  auto& target = const_cast<Value&>(*target_ptr);  // only composites reach the mutating branches
  if (target.is(K::Object) && target.class_name() == "numpy.ndarray" && target.items().empty() &&
      !target.state()) {
    return build_ndarray(target, *state);
  }
  if (target.is(K::Object) || target.is(K::Dict)) return target.set_state(state);
  if (target.is(K::Tensor)) return;  // python attributes of a tensor: not needed
  bad(fmt::format("BUILD on a {}", target.type_name()));
}

}  // namespace voxseg::checkpoint::detail
