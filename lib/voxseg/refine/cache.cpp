#include "voxseg/refine/cache.h"

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/core/sha256.h"

namespace voxseg::refine {
namespace {
constexpr char kMagic[8] = {'V', 'X', 'S', 'G', 'E', 'M', 'B', '1'};
}

EmbeddingCache::EmbeddingCache(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec || !std::filesystem::is_directory(dir_))
    fail(ExitCode::CannotWrite, "cannot create cache folder '{}': {}", dir_.string(),
         ec ? ec.message() : "not a folder");
}

std::string EmbeddingCache::key(const at::Tensor& rgb8, const std::string& preset, const std::string& network_identity) {
  const at::Tensor c = rgb8.to(at::kByte).cpu().contiguous();
  std::string bytes = preset + "|" + network_identity + "|";
  for (int64_t i = 0; i < c.dim(); ++i) bytes += std::to_string(c.size(i)) + "x";
  bytes += "|";
  bytes.append(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), size_t(c.numel()));
  return sha256_hex(bytes);
}

std::optional<at::Tensor> EmbeddingCache::load(const std::string& key) const {
  if (!enabled()) return std::nullopt;
  const auto path = dir_ / (key + ".emb");
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  char magic[8];
  int64_t dims = 0;
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(&dims), sizeof dims);
  if (!in || std::memcmp(magic, kMagic, 8) != 0 || dims < 1 || dims > 8) {
    log::warn("cache entry '{}' is not an embedding; ignored", path.string());
    return std::nullopt;
  }
  std::vector<int64_t> shape(static_cast<size_t>(dims));
  in.read(reinterpret_cast<char*>(shape.data()), std::streamsize(sizeof(int64_t) * shape.size()));
  int64_t numel = 1;
  for (const int64_t s : shape) numel = (s > 0 && s < (int64_t(1) << 20)) ? numel * s : -1;
  if (!in || numel <= 0) {
    log::warn("cache entry '{}' has a bad header; ignored", path.string());
    return std::nullopt;
  }
  at::Tensor t = at::empty(shape, at::kFloat);
  in.read(reinterpret_cast<char*>(t.data_ptr<float>()), std::streamsize(numel * sizeof(float)));
  if (!in || in.peek() != std::char_traits<char>::eof()) {
    log::warn("cache entry '{}' is truncated or too long; ignored", path.string());
    return std::nullopt;
  }
  return t;
}

void EmbeddingCache::store(const std::string& key, const at::Tensor& embedding) const {
  if (!enabled()) return;
  const at::Tensor t = embedding.to(at::kFloat).cpu().contiguous();
  try {
    AtomicFile file(dir_ / (key + ".emb"), true);
    {
      std::ofstream out(file.temp_path(), std::ios::binary);
      const int64_t dims = t.dim();
      out.write(kMagic, 8);
      out.write(reinterpret_cast<const char*>(&dims), sizeof dims);
      for (int64_t i = 0; i < dims; ++i) {
        const int64_t s = t.size(i);
        out.write(reinterpret_cast<const char*>(&s), sizeof s);
      }
      out.write(reinterpret_cast<const char*>(t.data_ptr<float>()), std::streamsize(t.numel() * sizeof(float)));
      if (!out) fail(ExitCode::CannotWrite, "write failed");
    }
    file.commit();
  } catch (const Error& e) {
    log::warn("cannot store embedding in cache '{}': {}", dir_.string(), e.what());
  }
}

}  // namespace voxseg::refine
