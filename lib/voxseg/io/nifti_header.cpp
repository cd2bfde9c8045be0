// NIfTI header checks that ITK 5.2 does not make, and gzip integrity diagnostics.
#include <zlib.h>

#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "voxseg/core/error.h"
#include "voxseg/io/detail/io_common.h"

namespace fs = std::filesystem;

namespace voxseg::io::detail {
namespace {

template <typename T>
T read_value(const unsigned char* p, bool swap) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (swap)
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

// Reads up to n bytes from the start of a plain or gzip-compressed file (gzread reads both).
size_t read_prefix(const fs::path& path, unsigned char* out, size_t n) {
  gzFile f = gzopen(path.string().c_str(), "rb");
  if (!f) fail(ExitCode::BadInput, "cannot read '{}': cannot open the file", path.string());
  const int got = gzread(f, out, static_cast<unsigned>(n));
  gzclose(f);
  return got < 0 ? 0 : static_cast<size_t>(got);
}

}  // namespace

NiftiHeaderFacts check_nifti_header(const fs::path& path) {
  const std::string file = path.string();
  std::array<unsigned char, 540> h{};
  const size_t got = read_prefix(path, h.data(), h.size());
  if (got < 4) {
    const std::string gz = gzip_problem(path);
    fail(ExitCode::BadInput, "cannot read '{}': {}", file, gz.empty() ? "too short to be a NIfTI file" : gz);
  }
  const int32_t size_le = read_value<int32_t>(h.data(), false);
  const int32_t size_be = read_value<int32_t>(h.data(), true);
  if (size_le == 540 || size_be == 540)
    fail(ExitCode::BadInput,
         "cannot read '{}': NIfTI-2 files are not supported (ITK 5.2 reads NIfTI-1 only); convert it to NIfTI-1, "
         "e.g. with nibabel: nib.Nifti1Image(img.dataobj, img.affine).to_filename('out.nii.gz')",
         file);
  if (size_le != 348 && size_be != 348) {
    const std::string gz = gzip_problem(path);
    fail(ExitCode::BadInput, "cannot read '{}': {}", file,
         gz.empty() ? "not a NIfTI file (header size field is neither 348 nor 540)" : gz);
  }
  if (got < 348) {
    const std::string gz = gzip_problem(path);
    fail(ExitCode::BadInput, "cannot read '{}': {}", file, gz.empty() ? "header is truncated" : gz);
  }
  const bool swap = size_le != 348;
  const char* magic = reinterpret_cast<const char*>(h.data() + 344);
  if (std::strncmp(magic, "n+1", 4) != 0 && std::strncmp(magic, "ni1", 4) != 0)
    fail(ExitCode::BadInput, "cannot read '{}': not a NIfTI-1 file (no 'n+1' magic; Analyze 7.5 is not supported)",
         file);
  std::array<int16_t, 8> dim{};
  for (int i = 0; i < 8; ++i) dim[i] = read_value<int16_t>(h.data() + 40 + 2 * i, swap);
  if (dim[0] < 1 || dim[0] > 7)
    fail(ExitCode::BadInput, "cannot read '{}': corrupt NIfTI header (dim[0] = {})", file, dim[0]);
  for (int i = 1; i <= dim[0]; ++i)
    if (dim[i] < 1) fail(ExitCode::BadInput, "cannot read '{}': corrupt NIfTI header (dim[{}] = {})", file, i, dim[i]);
  // dim[4] is time; dim[5] holds vector components (read as channels); beyond that is unsupported.
  if (dim[0] >= 4 && dim[4] > 1) {
    fail(ExitCode::BadInput,
         "cannot read '{}': 4D NIfTI ({}x{}x{} with {} volumes); voxseg reads 3D volumes: split it first, e.g. "
         "`fslsplit in.nii.gz vol_ -t` or nibabel's four_to_three",
         file, dim[1], dim[2], dim[3], dim[4]);
  }
  for (int i = 6; i <= dim[0]; ++i)
    if (dim[i] > 1)
      fail(ExitCode::BadInput, "cannot read '{}': {}D NIfTI (dim[{}] = {}); voxseg reads 3D volumes", file, dim[0], i,
           dim[i]);

  NiftiHeaderFacts facts;
  switch (read_value<int16_t>(h.data() + 70, swap)) {
    case 2: facts.stored = PixelType::UInt8; break;
    case 4: facts.stored = PixelType::Int16; break;
    case 8: facts.stored = PixelType::Int32; break;
    case 16: facts.stored = PixelType::Float32; break;
    case 64: facts.stored = PixelType::Float64; break;
    case 256: facts.stored = PixelType::Int8; break;
    case 512: facts.stored = PixelType::UInt16; break;
    default: break;
  }
  const float slope = read_value<float>(h.data() + 112, swap), inter = read_value<float>(h.data() + 116, swap);
  facts.rescaled = slope != 0.0f && std::isfinite(slope) && (slope != 1.0f || inter != 0.0f);

  // ITK 5.2 reads a truncated file without complaint (the missing voxels are garbage): check the size.
  const int16_t bitpix = read_value<int16_t>(h.data() + 72, swap);
  const float vox_offset = read_value<float>(h.data() + 108, swap);
  uint64_t nvox = 1;
  for (int i = 1; i <= dim[0]; ++i) nvox *= static_cast<uint64_t>(dim[i]);
  if (bitpix <= 0 || !(vox_offset >= 0)) return facts;  // ITK reports these itself
  const uint64_t expected = static_cast<uint64_t>(vox_offset) + nvox * static_cast<uint64_t>(bitpix) / 8;
  std::error_code ec;
  const uint64_t file_size = fs::file_size(path, ec);
  if (ec) return facts;
  std::string name = path.filename().string();
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool gz = name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0;
  if (!gz) {
    if (file_size < expected)
      fail(ExitCode::BadInput, "cannot read '{}': truncated file ({} bytes, the header needs {})", file, file_size,
           expected);
    return facts;
  }
  // Fast path: the gzip trailer's ISIZE (size mod 2^32) matches; otherwise decompress to find out.
  uint32_t isize = 0;
  {
    std::ifstream in(path, std::ios::binary);
    in.seekg(-4, std::ios::end);
    unsigned char t[4] = {};
    in.read(reinterpret_cast<char*>(t), 4);
    isize = uint32_t(t[0]) | uint32_t(t[1]) << 8 | uint32_t(t[2]) << 16 | uint32_t(t[3]) << 24;
  }
  if (isize == static_cast<uint32_t>(expected & 0xffffffffu)) return facts;
  uint64_t inflated = 0;
  const std::string problem = gzip_problem(path, &inflated);
  if (!problem.empty()) fail(ExitCode::BadInput, "cannot read '{}': {}", file, problem);
  if (inflated < expected)
    fail(ExitCode::BadInput, "cannot read '{}': truncated data ({} bytes after decompression, the header needs {})",
         file, inflated, expected);
  return facts;
}

std::string gzip_problem(const fs::path& path, uint64_t* inflated_bytes) {
  gzFile f = gzopen(path.string().c_str(), "rb");
  if (!f) return "cannot open the file";
  if (gzdirect(f)) {
    // Not gzip-compressed at all although named .gz: gzread would return it verbatim.
    const std::string name = path.filename().string();
    gzclose(f);
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) return "not gzip-compressed despite its .gz name";
    return "";
  }
  std::array<char, 1 << 16> buffer;
  int got = 0;
  uint64_t total = 0;
  while ((got = gzread(f, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) total += static_cast<uint64_t>(got);
  if (inflated_bytes) *inflated_bytes = total;
  int errnum = Z_OK;
  const char* message = gzerror(f, &errnum);
  std::string problem;
  if (got < 0 || errnum != Z_OK) {
    const std::string what = message ? message : "";
    if (errnum == Z_BUF_ERROR || what.find("unexpected end") != std::string::npos)
      problem = "truncated gzip data (the file ends early)";
    else
      problem = "corrupt gzip data (" + what + ")";
  }
  gzclose(f);
  return problem;
}

}  // namespace voxseg::io::detail
