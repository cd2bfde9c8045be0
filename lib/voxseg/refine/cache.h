#pragma once
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <optional>
#include <string>

namespace voxseg::refine {

/// Image embeddings on disk (`--cache DIR`), one file per slice, named by a key that covers the
/// slice's 8-bit pixels, the preprocessing preset and the network's identity (checkpoint sha256 and
/// precision), so re-prompting a case skips the encoder.
class EmbeddingCache {
 public:
  EmbeddingCache() = default;  ///< disabled
  /// Creates `dir` when missing; Error(CannotWrite) when that fails.
  explicit EmbeddingCache(std::filesystem::path dir);
  bool enabled() const { return !dir_.empty(); }

  /// sha256 over the preset, the network identity, the image's shape and its bytes (uint8 [3,H,W]).
  static std::string key(const at::Tensor& rgb8, const std::string& preset, const std::string& network_identity);
  /// The stored embedding, or nullopt when absent; an unreadable entry is logged and ignored.
  std::optional<at::Tensor> load(const std::string& key) const;
  /// Stores atomically; a failure to write is logged, not fatal (the cache is an accelerator).
  void store(const std::string& key, const at::Tensor& embedding) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace voxseg::refine
