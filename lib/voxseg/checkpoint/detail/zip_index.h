#pragma once
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace voxseg::checkpoint::detail {

/// One central-directory entry of a zip archive.
struct ZipEntry {
  std::string name;
  uint16_t method = 0;  ///< 0 stored, 8 deflate
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
};

/// Reads the central directory (zip64 included) of the archive in `in` (total `file_size` bytes),
/// checking every offset and size against the file, so record sizes can be vetted before
/// anything is allocated for them. Throws Error(BadModel) "<why>" on a malformed directory.
std::vector<ZipEntry> read_zip_directory(std::istream& in, uint64_t file_size);

}  // namespace voxseg::checkpoint::detail
