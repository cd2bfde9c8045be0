#include "voxseg/checkpoint/detail/zip_index.h"

#include <algorithm>

#include "voxseg/core/error.h"

namespace voxseg::checkpoint::detail {
namespace {

constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kDirectoryEntry = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint64_t kMaxEntries = 1'000'000;

uint64_t le(const std::string& b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t(uint8_t(b[at + i])) << (8 * i);
  return v;
}

std::string read_at(std::istream& in, uint64_t file_size, uint64_t pos, uint64_t n) {
  if (pos > file_size || n > file_size - pos) fail(ExitCode::BadModel, "zip directory points beyond the file end");
  std::string buf(size_t(n), '\0');
  in.clear();
  in.seekg(std::streamoff(pos));
  in.read(buf.data(), std::streamsize(n));
  if (!in || uint64_t(in.gcount()) != n) fail(ExitCode::BadModel, "cannot read the zip directory");
  return buf;
}

}  // namespace

std::vector<ZipEntry> read_zip_directory(std::istream& in, uint64_t file_size) {
  if (file_size < 22) fail(ExitCode::BadModel, "too short for a zip archive");
  // The end-of-directory record sits in the last 22 + 65535 (comment) bytes.
  const uint64_t tail_size = std::min<uint64_t>(file_size, 22 + 65535);
  const std::string tail = read_at(in, file_size, file_size - tail_size, tail_size);
  size_t eocd = std::string::npos;
  for (size_t i = tail.size() - 22 + 1; i-- > 0;) {
    if (le(tail, i, 4) == kEndOfDirectory) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) fail(ExitCode::BadModel, "no zip end-of-directory record (truncated?)");
  // Single-disk archives only (as miniz): both disk numbers 0, all entries on this disk.
  if (le(tail, eocd + 4, 2) != 0 || le(tail, eocd + 6, 2) != 0 || le(tail, eocd + 8, 2) != le(tail, eocd + 10, 2)) {
    fail(ExitCode::BadModel, "a multi-disk or corrupt zip end-of-directory record");
  }
  uint64_t count = le(tail, eocd + 10, 2);
  uint64_t dir_size = le(tail, eocd + 12, 4);
  uint64_t dir_offset = le(tail, eocd + 16, 4);
  if (count == 0xFFFF || dir_size == 0xFFFFFFFF || dir_offset == 0xFFFFFFFF) {
    const uint64_t eocd_pos = file_size - tail_size + eocd;
    if (eocd_pos < 20) fail(ExitCode::BadModel, "zip64 locator missing");
    const std::string loc = read_at(in, file_size, eocd_pos - 20, 20);
    if (le(loc, 0, 4) != kZip64Locator) fail(ExitCode::BadModel, "zip64 locator missing");
    const std::string end64 = read_at(in, file_size, le(loc, 8, 8), 56);
    if (le(end64, 0, 4) != kZip64End) fail(ExitCode::BadModel, "bad zip64 end-of-directory record");
    count = le(end64, 32, 8);
    dir_size = le(end64, 40, 8);
    dir_offset = le(end64, 48, 8);
  }
  if (count > kMaxEntries) fail(ExitCode::BadModel, "zip directory declares {} entries", count);
  if (count * 46 > dir_size) fail(ExitCode::BadModel, "zip directory too small for its {} entries", count);
  const std::string dir = read_at(in, file_size, dir_offset, dir_size);

  std::vector<ZipEntry> entries;
  size_t p = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (dir.size() - p < 46 || le(dir, p, 4) != kDirectoryEntry) {
      fail(ExitCode::BadModel, "corrupt zip directory entry {}", i);
    }
    ZipEntry e;
    e.method = uint16_t(le(dir, p + 10, 2));
    e.compressed_size = le(dir, p + 20, 4);
    e.uncompressed_size = le(dir, p + 24, 4);
    const size_t name_len = le(dir, p + 28, 2), extra_len = le(dir, p + 30, 2), comment_len = le(dir, p + 32, 2);
    uint64_t local_offset = le(dir, p + 42, 4);
    if (dir.size() - p - 46 < name_len + extra_len + comment_len) {
      fail(ExitCode::BadModel, "corrupt zip directory entry {}", i);
    }
    e.name = dir.substr(p + 46, name_len);
    // Zip64 extra field: the 64-bit values present are those whose 32-bit fields are all ones.
    for (size_t x = p + 46 + name_len, end = x + extra_len; x + 4 <= end;) {
      const uint64_t id = le(dir, x, 2), len = le(dir, x + 2, 2);
      if (x + 4 + len > end) fail(ExitCode::BadModel, "corrupt zip extra field in entry {}", i);
      if (id == 1) {
        size_t q = x + 4;
        auto next = [&](uint64_t& field) {
          if (field != 0xFFFFFFFF) return;
          if (q + 8 > x + 4 + len) fail(ExitCode::BadModel, "short zip64 field in entry {}", i);
          field = le(dir, q, 8);
          q += 8;
        };
        next(e.uncompressed_size);
        next(e.compressed_size);
        next(local_offset);
      }
      x += 4 + len;
    }
    if (local_offset > file_size || e.compressed_size > file_size - local_offset) {
      fail(ExitCode::BadModel, "zip entry '{}' extends beyond the file end", e.name);
    }
    if (e.method == 0 && e.compressed_size != e.uncompressed_size) {
      fail(ExitCode::BadModel, "stored zip entry '{}' has inconsistent sizes", e.name);
    }
    // The local header must be there and the data must fit after it.
    const std::string local = read_at(in, file_size, local_offset, 30);
    const uint64_t data_start = local_offset + 30 + le(local, 26, 2) + le(local, 28, 2);
    if (le(local, 0, 4) != kLocalHeader || data_start > file_size || e.compressed_size > file_size - data_start) {
      fail(ExitCode::BadModel, "corrupt zip local header of '{}'", e.name);
    }
    entries.push_back(std::move(e));
    p += 46 + name_len + extra_len + comment_len;
  }
  return entries;
}

}  // namespace voxseg::checkpoint::detail
