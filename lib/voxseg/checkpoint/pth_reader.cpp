#include "voxseg/checkpoint/pth_reader.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <new>
#include <sstream>
#include <unordered_set>

#include "voxseg/checkpoint/detail/unpickler.h"
#include "voxseg/checkpoint/detail/zip_index.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"

namespace voxseg::checkpoint {
namespace {

using K = Value::Kind;
namespace fs = std::filesystem;

constexpr uint64_t kMaxPickleBytes = 256ull << 20;
constexpr uint64_t kMaxDeflateRatio = 1100;  // deflate cannot expand beyond ~1032:1

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Names a non-zip file by its first bytes, for the error message.
std::string describe_non_zip(const std::string& head) {
  auto starts = [&](const char* magic, size_t n) { return head.size() >= n && std::memcmp(head.data(), magic, n) == 0; };
  static const char kLegacyMagic[] = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
  if (head.empty()) return "an empty file; expected a file written by torch.save";
  if (starts(kLegacyMagic, 14)) {
    return "a legacy (pre-1.6) torch.save file; re-save it in Python with "
           "torch.save(torch.load(path), path, _use_new_zipfile_serialization=True)";
  }
  if (head.size() >= 262 && head.compare(257, 5, "ustar") == 0) {
    return "a legacy tar-format torch.save file (PyTorch < 0.4); re-save it with a current PyTorch";
  }
  if (uint8_t(head[0]) == 0x80) return "a plain pickle file, not a torch.save (zip) checkpoint";
  if (starts("\x93NUMPY", 6)) return "a numpy .npy file, not a PyTorch checkpoint";
  if (starts("\x89HDF", 4)) return "an HDF5 file, not a PyTorch checkpoint";
  if (starts("\x1f\x8b", 2)) return "a gzip file, not a PyTorch checkpoint (zip)";
  if (head.size() > 8 && head[8] == '{') return "looks like a safetensors file, which voxseg does not read";
  return "not a PyTorch checkpoint (zip) file; expected a file written by torch.save (PyTorch >= 1.6)";
}

struct StorageType {
  const char* name;
  at::ScalarType type;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", at::kFloat},   {"DoubleStorage", at::kDouble}, {"HalfStorage", at::kHalf},
    {"BFloat16Storage", at::kBFloat16}, {"LongStorage", at::kLong}, {"IntStorage", at::kInt},
    {"ShortStorage", at::kShort},   {"CharStorage", at::kChar},     {"ByteStorage", at::kByte},
    {"BoolStorage", at::kBool},     {"ComplexFloatStorage", at::kComplexFloat},
    {"ComplexDoubleStorage", at::kComplexDouble}, {"UntypedStorage", at::kByte}};

class PthReader {
 public:
  PthReader(std::istream& in, uint64_t size, bool from_file, const std::string& path)
      : in_(in), size_(size), from_file_(from_file), path_(path) {}

  ValuePtr read() {
    std::string head(size_t(std::min<uint64_t>(size_, 512)), '\0');
    in_.read(head.data(), std::streamsize(head.size()));
    if (head.size() < 4 || (head.compare(0, 4, "PK\x03\x04") != 0 && head.compare(0, 4, "PK\x05\x06") != 0)) {
      fail(ExitCode::BadModel, "{}", describe_non_zip(head));
    }
    in_.clear();
    for (auto& e : detail::read_zip_directory(in_, size_)) entries_[e.name] = e;
    if (entries_.empty()) fail(ExitCode::BadModel, "an empty zip archive, not a torch.save checkpoint");
    // Like PyTorchStreamReader: the archive folder is the first entry's leading directory.
    const std::string first = entries_.begin()->first;  // any entry; all share the folder in torch files
    archive_ = first.substr(0, first.find('/'));
    // What PyTorchStreamReader's constructor insists on, checked first: a failing constructor
    // in LibTorch 1.13 leaks its zip state.
    if (first.find('/') == std::string::npos) fail(ExitCode::BadModel, "a zip file whose entries are not in a folder");
    if (!has("version") && !has(".data/version")) fail(ExitCode::BadModel, "a zip file without a version record");
    in_.clear();
    in_.seekg(0);
    open_reader();
    if (has("constants.pkl") || has("code/")) {
      fail(ExitCode::BadModel, "a TorchScript archive (torch.jit.save), not a torch.save checkpoint; "
                               "use it as a TorchScript model instead");
    }
    if (!has("data.pkl")) {
      fail(ExitCode::BadModel, "a zip file without data.pkl, not a torch.save checkpoint");
    }
    if (has("byteorder")) {
      auto [ptr, n] = record("byteorder");
      std::string order(static_cast<const char*>(ptr.get()), n);
      if (order == "big") big_endian_ = true;
      else if (order != "little") fail(ExitCode::BadModel, "unknown byteorder '{}'", order.substr(0, 20));
    }
    auto [pkl, pkl_size] = record("data.pkl", kMaxPickleBytes);
    std::string_view program(static_cast<const char*>(pkl.get()), pkl_size);
    return detail::unpickle(program, [this](const Value& pid) { return load_storage(pid); });
  }

 private:
  void open_reader() {
    try {
      if (from_file_) {
        reader_ = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path_);
      } else {
        reader_ = std::make_unique<caffe2::serialize::PyTorchStreamReader>(&in_);
      }
    } catch (const c10::Error& e) {
      fail(ExitCode::BadModel, "corrupt zip archive ({})", first_line(e.what_without_backtrace()));
    }
  }

  bool has(const std::string& name) const {
    const std::string full = archive_ + "/" + name;
    if (name.back() == '/') {
      auto it = entries_.lower_bound(full);
      return it != entries_.end() && it->first.compare(0, full.size(), full) == 0;
    }
    return entries_.count(full) > 0;
  }

  // Reads one record after vetting its declared size against the file (nothing is allocated for
  // a size the file cannot back).
  std::tuple<at::DataPtr, size_t> record(const std::string& name, uint64_t max_bytes = UINT64_MAX) {
    auto it = entries_.find(archive_ + "/" + name);
    if (it == entries_.end()) fail(ExitCode::BadModel, "record '{}' is missing", name);
    const auto& e = it->second;
    if (e.uncompressed_size > max_bytes) {
      fail(ExitCode::BadModel, "record '{}' is too large ({} bytes)", name, e.uncompressed_size);
    }
    if (e.method != 0 && (e.method != 8 || e.uncompressed_size > kMaxDeflateRatio * e.compressed_size + 64)) {
      fail(ExitCode::BadModel, "record '{}' has an unsupported or implausible compression", name);
    }
    try {
      auto result = reader_->getRecord(name);
      if (std::get<1>(result) != e.uncompressed_size) {
        fail(ExitCode::BadModel, "record '{}' has an inconsistent size", name);
      }
      return result;
    } catch (const c10::Error& err) {
      fail(ExitCode::BadModel, "cannot read record '{}' ({})", name, first_line(err.what_without_backtrace()));
    }
  }

  ValuePtr load_storage(const Value& pid) {
    if (!pid.is(K::Tuple) || pid.items().size() != 5 || !pid.items()[0]->is(K::String) ||
        pid.items()[0]->as_string() != "storage") {
      fail(ExitCode::BadModel, "unsupported persistent id {}", pid.repr(80));
    }
    const auto& f = pid.items();
    if (!f[1]->is(K::Global) || !f[2]->is(K::String) || !f[4]->is(K::Int)) {
      fail(ExitCode::BadModel, "malformed storage id {}", pid.repr(80));
    }
    const std::string& cls = f[1]->class_name();
    const std::string type_name = cls.substr(cls.rfind('.') + 1);
    auto known = std::find_if(std::begin(kStorageTypes), std::end(kStorageTypes),
                              [&](const StorageType& t) { return type_name == t.name; });
    if (known == std::end(kStorageTypes)) fail(ExitCode::BadModel, "unsupported storage type {}", cls);
    const at::ScalarType dtype = known->type;
    const std::string& key = f[2]->as_string();
    const int64_t numel = f[4]->as_int();

    auto cached = storages_.find(key);
    if (cached != storages_.end()) {
      if (cached->second->as_tensor().scalar_type() != dtype) {
        fail(ExitCode::BadModel, "storage '{}' is used with two different types", key);
      }
      return cached->second;
    }
    const int64_t itemsize = int64_t(c10::elementSize(dtype));
    int64_t nbytes = 0;
    if (numel < 0 || __builtin_mul_overflow(numel, itemsize, &nbytes)) {
      fail(ExitCode::BadModel, "storage '{}' declares an invalid size {}", key, numel);
    }
    auto it = entries_.find(archive_ + "/data/" + key);
    if (it == entries_.end()) fail(ExitCode::BadModel, "storage record 'data/{}' is missing", key);
    if (it->second.uncompressed_size < uint64_t(nbytes)) {
      fail(ExitCode::BadModel, "storage 'data/{}' holds {} bytes but declares {} elements of {}", key,
           it->second.uncompressed_size, numel, c10::toString(dtype));
    }
    auto [ptr, size] = record("data/" + key);
    if (big_endian_ && itemsize > 1) {
      char* p = static_cast<char*>(ptr.get());
      for (int64_t i = 0; i < numel; ++i) std::reverse(p + i * itemsize, p + (i + 1) * itemsize);
    }
    // The record's buffer becomes the storage: no copy beyond the one read from the file.
    c10::Storage storage(c10::Storage::use_byte_size_t(), size_t(nbytes), std::move(ptr), nullptr, false);
    at::Tensor flat = at::empty({0}, at::TensorOptions().dtype(dtype));
    flat.set_(storage, 0, {numel}, {1});
    auto value = Value::storage(flat);
    storages_.emplace(key, value);
    return value;
  }

  std::istream& in_;
  uint64_t size_;
  bool from_file_;
  std::string path_;
  std::string archive_;
  bool big_endian_ = false;
  std::map<std::string, detail::ZipEntry> entries_;
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader_;
  std::map<std::string, ValuePtr> storages_;
};

// Runs `body`, turning every failure into Error(BadModel) naming the file.
template <typename F>
ValuePtr guarded(const std::string& name, F&& body) {
  try {
    return body();
  } catch (const Error& e) {
    fail(ExitCode::BadModel, "cannot read checkpoint '{}': {}", name, e.what());
  } catch (const c10::Error& e) {
    fail(ExitCode::BadModel, "cannot read checkpoint '{}': {}", name, first_line(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    fail(ExitCode::BadModel, "cannot read checkpoint '{}': out of memory", name);
  } catch (const std::exception& e) {
    fail(ExitCode::BadModel, "cannot read checkpoint '{}': {}", name, e.what());
  }
}

void collect(const Value& dict, const std::string& prefix, StateDict& out, size_t& skipped, int depth) {
  for (const auto& [k, v] : dict.entries()) {
    if (!k->is(K::String)) {
      ++skipped;
      continue;
    }
    const std::string name = prefix + k->as_string();
    if (v->is(K::Tensor)) {
      out.emplace_back(name, v->as_tensor());
    } else if (v->is(K::Dict) && depth < 16) {
      collect(*v, name + ".", out, skipped, depth + 1);
    } else {
      ++skipped;
    }
  }
}

const Value& locate(const Value& root, const std::string& key) {
  if (key == "/") return root;
  if (key.empty()) {
    for (const char* k : {"network_weights", "state_dict", "model", "module"}) {
      const Value* v = root.find(k);
      if (v && v->is(K::Dict)) return *v;
    }
    return root;
  }
  const Value* v = &root;
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    const std::string part = key.substr(start, end - start);
    if (!part.empty()) {
      const Value* next = v->find(part);
      if (!next) fail(ExitCode::BadModel, "no key '{}' in the checkpoint", key);
      v = next;
    }
    start = end + 1;
  }
  return *v;
}

}  // namespace

ValuePtr read_pth(const std::string& path) {
  return guarded(path, [&] {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (!fs::exists(status)) fail(ExitCode::BadModel, "no such file");
    if (fs::is_directory(status)) fail(ExitCode::BadModel, "is a directory, expected a .pth file");
    const uint64_t size = fs::file_size(path, ec);
    if (ec) fail(ExitCode::BadModel, "cannot get the file size ({})", ec.message());
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(ExitCode::BadModel, "cannot open the file");
    PthReader reader(in, size, true, path);
    return reader.read();
  });
}

ValuePtr read_pth_bytes(const std::string& bytes, const std::string& name) {
  return guarded(name, [&] {
    std::istringstream in(bytes);
    PthReader reader(in, bytes.size(), false, name);
    return reader.read();
  });
}

StateDict state_dict(const Value& root, const StateDictOptions& options) {
  const Value& dict = locate(root, options.key);
  if (!dict.is(K::Dict)) {
    fail(ExitCode::BadModel, "the state dict{} is a {}, not a dict",
         options.key.empty() ? "" : " '" + options.key + "'", dict.type_name());
  }
  StateDict out;
  size_t skipped = 0;
  collect(dict, "", out, skipped, 0);
  if (out.empty()) {
    fail(ExitCode::BadModel, "no tensors in the state dict{}", options.key.empty() ? "" : " '" + options.key + "'");
  }
  if (skipped) log::debug("state dict: skipped {} non-tensor entries", skipped);
  if (options.strip_module_prefix) {
    std::unordered_set<std::string> seen;
    for (auto& [name, t] : out) {
      if (name.rfind("module.", 0) == 0) name.erase(0, 7);
      if (!seen.insert(name).second) fail(ExitCode::BadModel, "two parameters named '{}' after stripping 'module.'", name);
    }
  }
  return out;
}

StateDict read_state_dict(const std::string& path, const StateDictOptions& options) {
  const ValuePtr root = read_pth(path);
  try {
    return state_dict(*root, options);
  } catch (const Error& e) {
    fail(ExitCode::BadModel, "checkpoint '{}': {}", path, e.what());
  }
}

}  // namespace voxseg::checkpoint
